package graphdst

import "testing"

func TestCreatedID(t *testing.T) {
	for body, want := range map[string]string{
		`{"@odata.context":"x","@odata.etag":"W/\"1\"","id":"AAMk=","subject":"s","body":{"content":"<p>{\"id\":\"no\"}</p>"}}`: "AAMk=",
		`{"subject":"s","body":{"id":"nested"},"toRecipients":[{"id":"x"}],"id":"late"}`:                                        "late",
		`{"subject":"s"}`: "",
		`[{"id":"x"}]`:    "",
		`{"id":5}`:        "",
		``:                "",
		`{"id":"x"`:       "x",
	} {
		if got := createdID([]byte(body)); got != want {
			t.Errorf("%s: %q, want %q", body, got, want)
		}
	}
}
