package csvbatch_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/imapmig/imapmig/csvbatch"
)

func ExampleParse() {
	const file = "EmailAddress,UserName,Password\n" +
		"alice@contoso.com,alice,correct horse\n" +
		"not-an-address,bob,battery staple\n" +
		"ALICE@contoso.com,alice2,hunter2\n"
	res, err := csvbatch.Parse(strings.NewReader(file))
	if errors.Is(err, csvbatch.ErrTooLarge) {
		fmt.Println("too large")
		return
	} else if err != nil {
		fmt.Println(err) // rejected whole: *csvbatch.FileError
		return
	}
	skipInvalidRows := true
	if !res.Valid() {
		for _, p := range res.Problems {
			fmt.Println(p)
		}
		if !skipInvalidRows {
			return // the default: reject the batch
		}
	}
	for _, u := range res.Users {
		fmt.Println(u)
	}
	// Output:
	// line 3, column EmailAddress: the EmailAddress is not a valid address (name@contoso.com)
	// line 4, column EmailAddress: the EmailAddress is already used on line 2
	// {Line:2 EmailAddress:alice@contoso.com UserName:alice Password:[REDACTED] UserRoot:}
}
