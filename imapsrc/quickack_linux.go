package imapsrc

import (
	"net"
	"syscall"
)

// quickAck returns a function that asks the kernel to acknowledge c's
// incoming segments at once (TCP_QUICKACK), or nil where c is not TCP.
// Linux delays an ACK by up to 40 ms; a server that writes a longer answer
// in several segments without TCP_NODELAY (Cyrus 3.6) then holds the last
// one until that ACK comes (Nagle's algorithm): 40 ms on every answer over
// about 4 KB. The kernel clears the setting by itself after a while, so
// watchConn sets it before each read.
func quickAck(c net.Conn) func() {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return nil
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	set := func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1) }
	return func() { _ = raw.Control(set) }
}
