package csvbatch

import (
	"fmt"
	"strconv"
)

// Codes of a whole-file rejection (FileError.Code).
const (
	CodeTooLarge      = "TooLarge"
	CodeTooManyRows   = "TooManyRows"
	CodeMissingHeader = "MissingHeader"
	CodeUnknownColumn = "UnknownColumn"
	CodeEmpty         = "Empty"
	CodeNotUTF8       = "NotUTF8"
	CodeMalformed     = "Malformed"
)

// Codes of a bad row (Problem.Code).
const (
	CodeInvalidEmailAddress   = "InvalidEmailAddress"
	CodeEmptyUserName         = "EmptyUserName"
	CodeEmptyPassword         = "EmptyPassword"
	CodeColumnCount           = "ColumnCount"
	CodeDuplicateEmailAddress = "DuplicateEmailAddress"
)

// FileError rejects a whole file. Code is one of the Code* file codes;
// Message says why, for an operator, and never quotes a data field.
type FileError struct {
	Code    string
	Message string
}

func (e *FileError) Error() string {
	if e.Message == "" {
		return "csv file rejected: " + e.Code
	}
	return "csv file rejected (" + e.Code + "): " + e.Message
}

// Is reports whether target is a *FileError with the same Code, so that
// errors.Is(err, ErrTooLarge) works for any TooLarge error.
func (e *FileError) Is(target error) bool {
	t, ok := target.(*FileError)
	return ok && t != nil && e != nil && t.Code == e.Code
}

// Sentinels for errors.Is; each matches every *FileError with its Code.
var (
	ErrTooLarge      error = &FileError{Code: CodeTooLarge, Message: "the file is larger than 10 MB"}
	ErrTooManyRows   error = &FileError{Code: CodeTooManyRows, Message: "the file has more than 50000 data rows"}
	ErrMissingHeader error = &FileError{Code: CodeMissingHeader, Message: "the file has no header row with EmailAddress, UserName and Password"}
	ErrUnknownColumn error = &FileError{Code: CodeUnknownColumn, Message: "the header names an unknown column"}
	ErrEmpty         error = &FileError{Code: CodeEmpty, Message: "the file has no data rows"}
	ErrNotUTF8       error = &FileError{Code: CodeNotUTF8, Message: "the file is not valid UTF-8"}
	ErrMalformed     error = &FileError{Code: CodeMalformed, Message: "the file is not valid CSV"}
)

func fileErr(code, format string, args ...any) *FileError {
	return &FileError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Problem is one thing wrong with one data row. Line is the physical line
// where the row's record starts (the header is line 1 when it is the first
// line); Column is the column's canonical name, or empty when the problem
// concerns the whole row. Message never quotes a field's content.
type Problem struct {
	Line    int
	Column  string
	Code    string
	Message string
}

// Error formats the problem as "line 7, column EmailAddress: message" (or
// "line 7: message" for a whole-row problem).
func (p Problem) Error() string {
	s := "line " + strconv.Itoa(p.Line)
	if p.Column != "" {
		s += ", column " + p.Column
	}
	return s + ": " + p.Message
}

func (p Problem) String() string { return p.Error() }
