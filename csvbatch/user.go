package csvbatch

import (
	"fmt"
	"log/slog"
	"strconv"
)

const redacted = "[REDACTED]"

// User is one valid data row. Line is the physical line where its record
// starts. EmailAddress, UserName and UserRoot are trimmed; Password is
// verbatim. EmailAddress keeps the case it had in the file.
//
// String, GoString, Format and LogValue hide the password, so a User can be
// printed with any fmt verb or logged with log/slog safely.
type User struct {
	Line         int
	EmailAddress string
	UserName     string
	Password     string
	UserRoot     string
}

func (u User) redactedPassword() string {
	if u.Password == "" {
		return ""
	}
	return redacted
}

// String returns the user without its password.
func (u User) String() string {
	return "{Line:" + strconv.Itoa(u.Line) +
		" EmailAddress:" + u.EmailAddress +
		" UserName:" + u.UserName +
		" Password:" + u.redactedPassword() +
		" UserRoot:" + u.UserRoot + "}"
}

// GoString returns the user as Go syntax, without its password.
func (u User) GoString() string {
	return fmt.Sprintf("csvbatch.User{Line:%d, EmailAddress:%q, UserName:%q, Password:%q, UserRoot:%q}",
		u.Line, u.EmailAddress, u.UserName, u.redactedPassword(), u.UserRoot)
}

// Format implements fmt.Formatter so that every verb (%v, %+v, %#v, %s,
// %q, %d, %x …) prints the redacted form, never the password.
func (u User) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		_, _ = f.Write([]byte(u.GoString()))
	case verb == 'q':
		_, _ = f.Write([]byte(strconv.Quote(u.String())))
	default:
		_, _ = f.Write([]byte(u.String()))
	}
}

// LogValue implements slog.LogValuer: the password is replaced.
func (u User) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int("line", u.Line),
		slog.String("email_address", u.EmailAddress),
		slog.String("user_name", u.UserName),
		slog.String("password", u.redactedPassword()),
		slog.String("user_root", u.UserRoot),
	)
}
