// Package layering holds the test that keeps the project's imports pointing
// one way: entry point → cli → bench → sweep, da, obytes, boot → probe,
// targets; the console and the SSH server sit on bench; the simulator sits
// on targets; leaf packages import nothing of the project.
package layering
