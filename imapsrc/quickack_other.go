//go:build !linux

package imapsrc

import "net"

// quickAck: TCP_QUICKACK is Linux's; elsewhere the kernel's ACK timing stays.
func quickAck(net.Conn) func() { return nil }
