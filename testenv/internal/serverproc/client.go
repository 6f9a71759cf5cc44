package serverproc

import (
	"context"
	"net"

	"github.com/emersion/go-imap/v2/imapclient"
)

// DialIMAP connects to addr and authenticates with auth; on failure it
// closes the connection and returns auth's error as is.
func DialIMAP(ctx context.Context, addr string, auth func(*imapclient.Client) error) (*imapclient.Client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c := imapclient.New(conn, nil)
	if err := auth(c); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}
