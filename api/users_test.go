package api_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/connectd/connectd/internal/apitest"
)

var userFields = []string{"object", "id", "email", "fullName", "birthday", "preferredLocale", "metadata", "address", "createdAt"}

func checkUserShape(t *testing.T, u obj) {
	t.Helper()
	checkObject(t, u, "user", userFields)
	if id, _ := u["id"].(string); !userIDRe.MatchString(id) {
		t.Errorf("id = %q", id)
	}
}

func TestUsers(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apitest.Env) {

		t.Run("create_get_patch", func(t *testing.T) {
			r := e.Post("/users", obj{"email": "Jerry@Example.com", "fullName": "Jerry Seinfeld", "birthday": "1954-04-29",
				"preferredLocale": "en-US", "metadata": obj{"crm": "7"},
				"address": obj{"line1": "129 West 81st Street", "line2": "Apt 5A", "city": "New York", "postalCode": "10024", "state": "NY", "country": "US"}})
			u := wantStatus(t, r, http.StatusCreated)
			checkUserShape(t, u)
			if u["email"] != "Jerry@Example.com" || u["fullName"] != "Jerry Seinfeld" || u["birthday"] != "1954-04-29" ||
				jsonString(u["metadata"]) != `{"crm":"7"}` || u["address"].(map[string]any)["city"] != "New York" {
				t.Errorf("user = %s", r.Body)
			}
			id := u["id"].(string)
			g := wantStatus(t, e.Get("/users/"+id), http.StatusOK)
			if jsonString(g) != jsonString(u) {
				t.Errorf("GET = %v, want %v", g, u)
			}
			p := wantStatus(t, e.Patch("/users/"+id, obj{"fullName": "Jerome Seinfeld"}), http.StatusOK)
			if p["fullName"] != "Jerome Seinfeld" || p["email"] != "Jerry@Example.com" || p["birthday"] != "1954-04-29" {
				t.Errorf("PATCH = %v", p)
			}
			p = wantStatus(t, e.Patch("/users/"+id, obj{"email": "jerry@example.org"}), http.StatusOK)
			if p["email"] != "jerry@example.org" || p["fullName"] != "Jerome Seinfeld" {
				t.Errorf("PATCH = %v", p)
			}
		})

		t.Run("minimal_user", func(t *testing.T) {
			u := wantStatus(t, e.Post("/users", obj{"email": "min@example.com"}), http.StatusCreated)
			checkUserShape(t, u)
			if u["fullName"] != nil || u["address"] != nil || jsonString(u["metadata"]) != "{}" {
				t.Errorf("user = %v", u)
			}
		})

		t.Run("email_unique_case_insensitively_409", func(t *testing.T) {
			wantStatus(t, e.Post("/users", obj{"email": "elaine@example.com"}), http.StatusCreated)
			for _, email := range []string{"elaine@example.com", "ELAINE@example.com", "Elaine@Example.Com"} {
				wantError(t, e.Post("/users", obj{"email": email}), http.StatusConflict, "conflict", "userEmailExists", detail{"email", "alreadyExists"})
			}
		})

		t.Run("patch_email_to_a_taken_one_409", func(t *testing.T) {
			wantStatus(t, e.Post("/users", obj{"email": "george@example.com"}), http.StatusCreated)
			id := e.CreateUser("kramer@example.com")
			wantError(t, e.Patch("/users/"+id, obj{"email": "GEORGE@example.com"}), http.StatusConflict, "conflict", "userEmailExists", detail{"email", "alreadyExists"})
			// Its own email, in another case, is fine.
			p := wantStatus(t, e.Patch("/users/"+id, obj{"email": "Kramer@example.com"}), http.StatusOK)
			if p["email"] != "Kramer@example.com" {
				t.Errorf("email = %v", p["email"])
			}
			if g := wantStatus(t, e.Get("/users/"+id), http.StatusOK); g["email"] != "Kramer@example.com" {
				t.Errorf("GET email = %v", g["email"])
			}
		})

		t.Run("validation", func(t *testing.T) {
			tomorrow := time.Now().UTC().Add(48 * time.Hour).Format(time.DateOnly)
			cases := []struct {
				body obj
				want detail
			}{
				{obj{}, detail{"email", "required"}},
				{obj{"email": nil}, detail{"email", "required"}},
				{obj{"email": "nope"}, detail{"email", "invalidEmail"}},
				{obj{"email": 1}, detail{"email", "invalidType"}},
				{obj{"email": "a@example.com", "birthday": "29.04.1954"}, detail{"birthday", "invalidDate"}},
				{obj{"email": "a@example.com", "birthday": tomorrow}, detail{"birthday", ""}},
				{obj{"email": "a@example.com", "preferredLocale": "x"}, detail{"preferredLocale", "invalidLocale"}},
				{obj{"email": "a@example.com", "metadata": obj{"a": 1}}, detail{"metadata.a", "invalidType"}},
				{obj{"email": "a@example.com", "address": obj{"line1": "x"}}, detail{"address.city", "required"}},
				{obj{"email": "a@example.com", "address": obj{"line1": "x", "city": "y", "postalCode": "1", "country": "usa"}}, detail{"address.country", "invalidCountry"}},
				{obj{"email": "a@example.com", "id": "usr_0000000000000000000000000000"}, detail{"id", "unknownField"}},
				{obj{"email": "a@example.com", "fullname": "x"}, detail{"fullname", "unknownField"}},
			}
			for _, c := range cases {
				want422(t, e.Post("/users", c.body), c.want)
			}
			id := e.CreateUser("valid@example.com")
			want422(t, e.Patch("/users/"+id, obj{"email": "nope"}), detail{"email", "invalidEmail"})
			want422(t, e.Patch("/users/"+id, obj{"createdAt": "2020-01-01T00:00:00Z"}), detail{"createdAt", "unknownField"})
		})

		t.Run("another_projects_user_is_404", func(t *testing.T) {
			other, otherKey := e.NewProject("other", nil)
			r := e.Do(apitest.Request{Method: "POST", Path: projectPath(other, "/users"), Key: otherKey, Body: obj{"email": "newman@example.com"}})
			id := wantStatus(t, r, http.StatusCreated)["id"].(string)
			wantError(t, e.Get("/users/"+id), http.StatusNotFound, "notFound", "userNotFound")
			wantError(t, e.Patch("/users/"+id, obj{"fullName": "x"}), http.StatusNotFound, "notFound", "userNotFound")
			wantError(t, e.Get("/users/usr_0000000000000000000000000000"), http.StatusNotFound, "notFound", "userNotFound")
			// The same email is free in this project.
			wantStatus(t, e.Post("/users", obj{"email": "newman@example.com"}), http.StatusCreated)
		})
	})
}

func TestUsersList(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apitest.Env) {
		var ids []string
		for i := 0; i < 12; i++ {
			ids = append(ids, e.CreateUser("u"+itoa(i)+"@example.com"))
			time.Sleep(2 * time.Millisecond)
		}
		slices.Reverse(ids)
		list := func(q string) (got []string, after, before any) {
			t.Helper()
			m := wantStatus(t, e.Get("/users"+q), http.StatusOK)
			if m["object"] != "list" {
				t.Fatalf("list = %v", m)
			}
			for _, it := range m["items"].([]any) {
				u := it.(map[string]any)
				checkUserShape(t, u)
				got = append(got, u["id"].(string))
			}
			return got, m["moreItemsAfter"], m["moreItemsBefore"]
		}
		got, after, before := list("")
		if !slices.Equal(got, ids[:10]) || after != ids[9] || before != nil {
			t.Errorf("default page: %v after %v before %v", got, after, before)
		}
		got, after, before = list("?after=" + ids[9])
		if !slices.Equal(got, ids[10:]) || after != nil || before != ids[10] {
			t.Errorf("second page: %v after %v before %v", got, after, before)
		}
		got, after, before = list("?limit=3&before=" + ids[5])
		if !slices.Equal(got, ids[2:5]) || after != ids[4] || before != ids[2] {
			t.Errorf("before page: %v after %v before %v", got, after, before)
		}
		want422(t, e.Get("/users?limit=0"), detail{"limit", "outOfRange"}) // issue 10.7
		want422(t, e.Get("/users?limit=201"), detail{"limit", "outOfRange"})
		want422(t, e.Get("/users?email=x"), detail{"email", "unknownParameter"})
		want422(t, e.Get("/users?after="), detail{"after", "empty"})
		want422(t, e.Get("/users?after=csn_0000000000000000000000000000"), detail{"after", "invalidId"})
	})
}

// TestBirthdayInTheFutureByTheServersClock: "not in the future" is judged by
// the server's one clock, not the machine's.
func TestBirthdayInTheFutureByTheServersClock(t *testing.T) {
	e := apitest.New(t, apitest.Options{})
	inThreeDays := time.Now().UTC().Add(72 * time.Hour).Format(time.DateOnly)
	want422(t, e.Post("/users", obj{"email": "a@example.com", "birthday": inThreeDays}), detail{"birthday", "inFuture"})
	e.Clock.Advance(96 * time.Hour)
	wantStatus(t, e.Post("/users", obj{"email": "a@example.com", "birthday": inThreeDays}), http.StatusCreated)
}
