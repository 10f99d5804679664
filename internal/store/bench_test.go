package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/internal/store"
)

// fill creates n webhooks in tenant with a bounded pool of writers.
func fill(b *testing.B, s *store.Store, tenant string, n int) {
	b.Helper()
	ctx := context.Background()
	work := make(chan int)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range work {
				w := hook(tenant, fmt.Sprintf("Webhook %05d team-%d", i, i%10))
				if i%7 == 0 {
					w.Status = hookgate.StatusPaused
				}
				if err := s.CreateWebhook(ctx, w); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for i := range n {
		select {
		case work <- i:
		case err := <-errs:
			b.Fatal(err)
		}
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
}

// BenchmarkFindWebhooks10k reads one page of 50 from a tenant with 10,000
// webhooks. The full_scan_baseline case does what the indexes avoid: load
// every record, then filter and sort in memory.
func BenchmarkFindWebhooks10k(b *testing.B) {
	s, _, _ := newStore(b)
	fill(b, s, "acme", 10_000)
	ctx := context.Background()
	cases := []struct {
		name string
		f    hookgate.WebhookFilter
	}{
		{"first_page", hookgate.WebhookFilter{}},
		{"search_common_by_name", hookgate.WebhookFilter{Search: "TEAM-7", Sort: "name"}},
		{"search_common_by_created", hookgate.WebhookFilter{Search: "team-7", Sort: "-created_at"}},
		{"search_rare_by_name", hookgate.WebhookFilter{Search: "04242", Sort: "name"}},
		{"status_paused", hookgate.WebhookFilter{Status: hookgate.StatusPaused, Sort: "name"}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			f := c.f
			f.Tenant, f.Limit = "acme", 50
			for b.Loop() {
				ws, _, err := s.FindWebhooks(ctx, f)
				if err != nil || len(ws) == 0 {
					b.Fatal(len(ws), err)
				}
			}
		})
	}
	b.Run("full_scan_baseline", func(b *testing.B) {
		for b.Loop() {
			all, err := s.ListAllWebhooks(ctx, "acme")
			if err != nil {
				b.Fatal(err)
			}
			var page []*hookgate.Webhook
			for _, w := range all {
				if strings.Contains(strings.ToLower(w.Name), "team-7") {
					page = append(page, w)
				}
			}
			slices.SortFunc(page, func(x, y *hookgate.Webhook) int { return strings.Compare(x.Name, y.Name) })
			if len(page) < 50 {
				b.Fatal(len(page))
			}
		}
	})
}
