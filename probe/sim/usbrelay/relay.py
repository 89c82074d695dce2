"""USB relay between umockdev and a simulated ST-LINK written in Go.

This script only moves bytes. It builds a umockdev testbed from the device
descriptions the Go side writes on stdin, attaches one ioctl handler per
device node, prints the testbed root on stdout, and then forwards every usbdevfs
ioctl a libusb program makes to the Go side over the socket on file
descriptor 3. The Go side decides every answer: which URBs complete, with
which status and data, and which errno an ioctl returns.

stdin (from Go): one JSON line {"devices": [{"node": ..., "description": ...}]}
then any number of lines; end of file means quit.

Socket frames, both ways: a little-endian u32 body length, then the body.
  request  u8 kind, u8 device, u32 id, u32 ioctl, u8 urb type, u8 endpoint,
           u32 buffer length, then the OUT bytes (kind 1: submit, 2: discard,
           3: any other ioctl).
  reply    i32 errno, u32 ioctl payload length, payload, u16 completions, then
           per completion u32 id, i32 status, u32 actual length, u32 offset,
           u32 data length, data.
"""

import errno
import json
import os
import socket
import struct
import sys
import threading
import traceback

import gi

gi.require_version('UMockdev', '1.0')
from gi.repository import UMockdev  # noqa: E402

# usbdevfs ioctls whose argument is a URB (x86-64 and arm64 numbers).
SUBMITURB = 0x8038550A
DISCARDURB = 0x550B
REAPURB = 0x4008550C
REAPURBNDELAY = 0x4008550D

URB_SIZE = 56          # sizeof(struct usbdevfs_urb)
URB_STATUS = 4         # offsets inside it
URB_BUFFER = 16
URB_BUFFER_LENGTH = 24
URB_ACTUAL_LENGTH = 28

KIND_SUBMIT, KIND_DISCARD, KIND_IOCTL, KIND_POLL = 1, 2, 3, 4


class Relay:
    def __init__(self, sock):
        self.sock = sock
        self.lock = threading.Lock()
        self.next_id = 1
        self.inflight = {}   # id -> (device, urb, buffer, client address)
        self.done = {}       # device -> list of completed urbs, oldest first

    def exchange(self, kind, device, urb_id, request, urb_type, endpoint, length, data):
        body = struct.pack('<BBIIBBI', kind, device, urb_id, request, urb_type,
                           endpoint, length) + data
        self.sock.sendall(struct.pack('<I', len(body)) + body)
        size = struct.unpack('<I', self.read(4))[0]
        return self.read(size)

    def read(self, n):
        chunks = []
        while n > 0:
            chunk = self.sock.recv(n)
            if not chunk:
                raise EOFError('relay socket closed')
            chunks.append(chunk)
            n -= len(chunk)
        return b''.join(chunks)

    def apply(self, reply):
        err, plen = struct.unpack_from('<iI', reply, 0)
        pos = 8
        payload = reply[pos:pos + plen]
        pos += plen
        count = struct.unpack_from('<H', reply, pos)[0]
        pos += 2
        for _ in range(count):
            urb_id, status, actual, offset, dlen = struct.unpack_from('<IiIII', reply, pos)
            pos += 20
            data = reply[pos:pos + dlen]
            pos += dlen
            entry = self.inflight.pop(urb_id, None)
            if entry is None:
                continue
            device, urb, buf, _ = entry
            if data:
                buf.update(offset, data)
            urb.update(URB_STATUS, struct.pack('<i', status))
            urb.update(URB_ACTUAL_LENGTH, struct.pack('<i', actual))
            self.done.setdefault(device, []).append(urb)
        return err, payload

    def handle(self, _handler, client, device):
        request = client.get_request()
        with self.lock:
            try:
                err = self.dispatch(client, device, request)
            except (EOFError, OSError):
                err = errno.ENODEV  # the Go side is gone: so is the device
            except Exception:  # never leave the program waiting on an ioctl
                traceback.print_exc()
                err = errno.EIO
        client.complete(-1 if err else 0, err)
        return True

    def dispatch(self, client, device, request):
        if request in (REAPURB, REAPURBNDELAY):
            queue = self.done.get(device)
            if not queue and any(e[0] == device for e in self.inflight.values()):
                self.apply(self.exchange(KIND_POLL, device, 0, request, 0, 0, 0, b''))
                queue = self.done.get(device)
            if not queue:
                return errno.EAGAIN
            client.get_arg().resolve(0, 8).set_ptr(0, queue.pop(0))
            return 0
        if request == SUBMITURB:
            urb = client.get_arg().resolve(0, URB_SIZE)
            raw = bytes(urb.retrieve())
            urb_type, endpoint = raw[0], raw[1]
            length = struct.unpack_from('<i', raw, URB_BUFFER_LENGTH)[0]
            if length < 0:
                return errno.EINVAL  # as usbdevfs answers a negative buffer length
            buf = urb.resolve(URB_BUFFER, length)
            data = b''
            if urb_type == 2 or not endpoint & 0x80:
                data = bytes(buf.retrieve())
            urb_id = self.next_id
            self.next_id = (self.next_id % 0xFFFFFFF0) + 1
            self.inflight[urb_id] = (device, urb, buf, urb.client_addr)
            err, _ = self.apply(self.exchange(KIND_SUBMIT, device, urb_id, request,
                                              urb_type, endpoint, length, data))
            if err:
                self.inflight.pop(urb_id, None)
            return err
        if request == DISCARDURB:
            addr = struct.unpack('<Q', bytes(client.get_arg().retrieve())[:8])[0]
            for urb_id, (dev, _, _, client_addr) in list(self.inflight.items()):
                if dev == device and client_addr == addr:
                    err, _ = self.apply(self.exchange(KIND_DISCARD, device, urb_id,
                                                      request, 0, 0, 0, b''))
                    return err
            return errno.EINVAL
        err, payload = self.apply(self.exchange(KIND_IOCTL, device, 0, request, 0, 0, 0, b''))
        if not err and payload:
            client.get_arg().resolve(0, len(payload)).update(0, payload)
        return err


def main():
    sock = socket.socket(fileno=3)
    setup = json.loads(sys.stdin.readline())
    testbed = UMockdev.Testbed.new()
    relay = Relay(sock)
    handlers = []
    for index, dev in enumerate(setup['devices']):
        testbed.add_from_string(dev['description'])
        handler = UMockdev.IoctlBase()
        handler.connect('handle-ioctl', relay.handle, index)
        testbed.attach_ioctl(dev['node'], handler)
        handlers.append(handler)
    sys.stdout.write('READY %s\n' % testbed.get_root_dir())
    sys.stdout.flush()
    for _ in sys.stdin:
        pass
    del handlers
    del testbed


if __name__ == '__main__':
    main()
