package imapfault

import (
	"fmt"
	"strconv"
)

// Action is what a Fault does when it fires.
type Action int

const (
	// Pass forwards everything (Rate and LoginReply still apply).
	Pass Action = iota
	// Cut closes both sides.
	Cut
	// Stall stops forwarding and keeps the sockets open.
	Stall
	// Bye sends an untagged BYE at a response boundary and closes.
	Bye
)

func (a Action) String() string {
	switch a {
	case Pass:
		return "pass"
	case Cut:
		return "cut"
	case Stall:
		return "stall"
	case Bye:
		return "bye"
	}
	return "Action(" + strconv.Itoa(int(a)) + ")"
}

// Fault is what one connection does.
type Fault struct {
	Action Action
	// After is how many bytes from the server are forwarded before the
	// Action fires.
	After int64
	// InLiteralOver > 0 counts After from the first byte of the first
	// literal from the server larger than this many bytes.
	InLiteralOver int64
	// Rate > 0 paces the server's bytes to Rate bytes per second.
	Rate int64
	// LoginReply, when set, answers LOGIN and AUTHENTICATE with the
	// command's tag and this text (e.g. "NO [UNAVAILABLE] try later").
	LoginReply string
}

// Script gives the n-th connection (from 1) its Fault.
type Script func(n int) Fault

// Event is a fault that fired.
type Event struct {
	Conn   int    // connection number, 0 for a rejected connection
	What   string // "cut", "stall", "bye", "login", "reject"
	At     int64  // server bytes forwarded on the connection when it fired
	Detail string // the login reply, for "login"
}

func (e Event) String() string {
	s := fmt.Sprintf("conn %d: %s after %d bytes", e.Conn, e.What, e.At)
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s
}
