// Package enum names the values of the project's enumerations. Each
// enumeration keeps its names in a table indexed by its constants; this
// package is the one lookup with the one fallback for a value the table
// does not name. It imports nothing of the project, and every package may
// use it.
package enum

import "fmt"

// Integer is the underlying type of an enumeration.
type Integer interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint | ~uint8 | ~uint16 | ~uint32
}

// Words are a value's short name (its command-line spelling) and its
// title (how a person reads it).
type Words struct {
	Name, Title string
}

// Name is names[v], or "typeName(v)" (for example "Kind(7)") when the
// table has no name for v.
func Name[T Integer](names []string, v T, typeName string) string {
	return field(names, v, func(name string) string { return name }, typeName)
}

// ShortName is the Name of the row table[v], or "typeName(v)" when the
// table has none.
func ShortName[T Integer](table []Words, v T, typeName string) string {
	return field(table, v, func(w Words) string { return w.Name }, typeName)
}

// Title is the Title of the row table[v], or "typeName(v)" when the table
// has none.
func Title[T Integer](table []Words, v T, typeName string) string {
	return field(table, v, func(w Words) string { return w.Title }, typeName)
}

// field is what pick takes from the row table[v], or "typeName(v)" when v
// indexes no row or pick finds nothing in it ("").
func field[E any, T Integer](table []E, v T, pick func(E) string, typeName string) string {
	if i := int64(v); i >= 0 && i < int64(len(table)) {
		if s := pick(table[i]); s != "" {
			return s
		}
	}
	return fmt.Sprintf("%s(%d)", typeName, int64(v))
}

// Sparse is names[v] for an enumeration whose values are sparse codes, or
// format filled with v as a number when names has none (for example
// "status 0x%08X").
func Sparse[T Integer](names map[T]string, v T, format string) string {
	if name, ok := names[v]; ok {
		return name
	}
	if v < 0 {
		return fmt.Sprintf(format, int64(v))
	}
	return fmt.Sprintf(format, uint64(v))
}
