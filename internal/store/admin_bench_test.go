package store

// The administrators' user search with 100,000 users, on both databases:
//
//	go test -run x -bench AdminUserSearch -benchtime 200x ./internal/store/
//
// It lives in package store (not store_test) to seed the users with
// multi-row inserts in one transaction: 100,000 single inserts would take
// minutes on PostgreSQL.

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gatehouse/internal/testenv"
)

// benchUsers is the installation size the console must stay fast at.
const benchUsers = 100_000

func BenchmarkAdminUserSearch(b *testing.B) {
	for _, d := range []string{"sqlite", "postgres"} {
		b.Run(d, func(b *testing.B) {
			dsn := "sqlite:" + filepath.Join(b.TempDir(), "bench.db")
			if d == "postgres" {
				dsn = testenv.PostgresDSN(b)
			}
			ctx := context.Background()
			db := OpenMigratedForTest(b, dsn)
			start := time.Now()
			seedUsers(b, db, benchUsers)
			b.Logf("%s: seeded %d users in %v", d, benchUsers, time.Since(start).Round(time.Millisecond))
			for _, q := range []struct {
				name, query string
				page        int
			}{
				{"all/first-page", "", 1},
				{"all/last-page", "", benchUsers / 50},
				{"username-substring", "r04217", 1}, // ~10 matches
				{"email-domain", "@example.org", 1}, // a quarter of everyone
				{"email-domain/page-400", "@example.org", 400},
				{"no-match", "zzzz", 1},
			} {
				b.Run(q.name, func(b *testing.B) {
					for b.Loop() {
						users, total, err := db.SearchUsers(ctx, q.query, 50, (q.page-1)*50)
						if err != nil {
							b.Fatal(err)
						}
						if q.query != "zzzz" && (len(users) == 0 || total == 0) {
							b.Fatalf("%q page %d: no users (total %d)", q.query, q.page, total)
						}
					}
				})
			}
		})
	}
}

// seedUsers inserts n users with varied names and email domains.
func seedUsers(b *testing.B, db *DB, n int) {
	b.Helper()
	ctx := context.Background()
	domains := []string{"example.com", "example.org", "corp.example", "mail.example.net"}
	const batch = 500
	err := db.tx(ctx, func(c conn) error {
		for i := 0; i < n; i += batch {
			var sb strings.Builder
			sb.WriteString(`INSERT INTO users (id, username, email, is_admin, disabled, password_hash, must_change_password, created_at) VALUES `)
			var args []any
			for j := i; j < min(i+batch, n); j++ {
				if j > i {
					sb.WriteString(", ")
				}
				sb.WriteString("(?, ?, ?, ?, ?, ?, ?, ?)")
				args = append(args, fmt.Sprintf("%032x", j), fmt.Sprintf("user%06d", j),
					fmt.Sprintf("Person.%d@%s", j, domains[j%len(domains)]), j%1000 == 0, false,
					"$argon2id$v=19$m=65536,t=3,p=2$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA", false, int64(1_700_000_000_000+j))
			}
			if _, err := c.exec(ctx, sb.String(), args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if db.dialect == Postgres {
		if _, err := db.c().exec(ctx, `VACUUM ANALYZE users`); err != nil {
			b.Fatal(err)
		}
	}
}
