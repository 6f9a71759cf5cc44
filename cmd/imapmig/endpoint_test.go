package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/testenv/graphemu"
	"github.com/imapmig/imapmig/testenv/mailgen"
)

// TestEndpointTest_UsernameBeforeAnyBatchAndPlusAddresses: `endpoint test`
// works before a batch exists (--username, password on stdin, never a
// flag), and --user finds a migration user whose address has a '+'.
func TestEndpointTest_UsernameBeforeAnyBatchAndPlusAddresses(t *testing.T) {
	e := newE2E(t, "ept", 1, mailgen.Options{Messages: 1}, graphemu.Options{DisableThrottling: true})
	e.start()
	u := e.users[0]
	csv, _ := os.ReadFile(filepath.Join(e.dir, "users.csv"))
	pw := strings.TrimSpace(strings.Split(strings.Split(string(csv), "\n")[1], ",")[2])

	test := func(stdin string, args ...string) (migrate.EndpointTest, int, string) {
		t.Helper()
		out, errOut, code := runCLIStdin(t, e.env, stdin, append([]string{"endpoint", "test", "dovecot", "-o", "json"}, args...)...)
		var res migrate.EndpointTest
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("%v: exit %d: %s %s", args, code, out, errOut)
		}
		if strings.Contains(out+errOut, pw) {
			t.Fatal("the password was echoed")
		}
		return res, code, errOut
	}
	// No batch exists.
	if out := e.cli("batch", "list", "-o", "json"); strings.TrimSpace(out) != "[]" {
		t.Fatalf("batches: %s", out)
	}
	if res, code, _ := test(pw+"\n", "--username", u.login); code != 0 || res.Result != "Success" || res.User != u.login {
		t.Errorf("--username with the right password: exit %d %+v", code, res)
	}
	if res, code, _ := test("wrong-password\n", "--username", u.login); code != 1 || res.Result != "Failed" || res.Reason != migrate.ReasonImapAuthenticationFailed {
		t.Errorf("--username with a wrong password: exit %d %+v", code, res)
	}
	if _, errOut, code := runCLIStdin(t, e.env, "", "endpoint", "test", "dovecot", "--username", u.login); code != 1 || !strings.Contains(errOut, "no password") {
		t.Errorf("--username without a password: exit %d %s", code, errOut)
	}
	if _, _, code := runCLI(t, e.env, "endpoint", "test", "dovecot", "--username", u.login, "--password", pw); code == 0 {
		t.Error("a --password flag was accepted")
	}

	// A migration user whose address has a '+' (the login is the Dovecot user).
	plus := writeFile(t, filepath.Join(e.dir, "plus.csv"), fmt.Sprintf("EmailAddress,UserName,Password\nfrank+tag@contoso.example,%s,%s\n", u.login, pw))
	e.cli("batch", "new", "plus", "--endpoint", "dovecot", "--tenant", "contoso", "--csv", plus)
	if res, code, errOut := test("", "--user", "frank+tag@contoso.example"); code != 0 || res.Result != "Success" || res.User != "frank+tag@contoso.example" {
		t.Errorf("--user frank+tag@: exit %d %+v %s", code, res, errOut)
	}
}
