package main

import (
	"errors"
	"io"
)

func cmdDemo(args []string, stdout, stderr io.Writer) error {
	return errors.New("demo: not built yet")
}

func cmdEmulator(args []string, stdout, stderr io.Writer) error {
	return errors.New("emulator: not built yet")
}
