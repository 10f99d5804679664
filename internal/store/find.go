package store

import (
	"context"
	"encoding/base64"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/hookgate/hookgate"
)

// Page reading bounds.
const (
	defaultLimit   = 50   // page size when the filter's Limit is <= 0
	indexChunk     = 1000 // index members read per round trip while searching
	minFetchChunk  = 32   // records read per round trip while filtering on status or event
	maxFetchChunk  = 500
	maxCursorBytes = 4096 // a longer cursor was not made by this store
)

// order is one of the four list orders, with the index it walks.
type order struct {
	tag    byte // first byte of the cursor, so a cursor only resumes its own order
	byName bool
	desc   bool
}

func parseSort(sort string) (order, error) {
	switch sort {
	case "name":
		return order{tag: 'n', byName: true}, nil
	case "-name":
		return order{tag: 'N', byName: true, desc: true}, nil
	case "created_at":
		return order{tag: 'c'}, nil
	case "", "-created_at":
		return order{tag: 'C', desc: true}, nil
	}
	return order{}, hookgate.FieldError("sort", "sort must be one of name, -name, created_at, -created_at")
}

// encodeCursor makes the opaque cursor that resumes after the index member m.
// The member holds the sort key and the id, so the cursor stays valid while
// records are added and removed.
func encodeCursor(o order, m string) string {
	return base64.RawURLEncoding.EncodeToString(append([]byte{o.tag}, m...))
}

// decodeCursor returns the index member a cursor resumes after.
func decodeCursor(o order, c string) (string, error) {
	bad := hookgate.FieldError("cursor", "invalid cursor")
	if len(c) > maxCursorBytes {
		return "", bad
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(c)
	if err != nil || len(b) < 2 || b[0] != o.tag {
		return "", bad
	}
	m := string(b[1:])
	if _, _, ok := parseMember(o.byName, m); !ok {
		return "", bad
	}
	return m, nil
}

// candidate is an index entry that passed the search.
type candidate struct {
	id, member string
}

// indexReader walks one index in order, a chunk per round trip.
type indexReader struct {
	rdb   Client
	key   string
	o     order
	bound string // exclusive lex bound to resume from
	done  bool
}

func (r *indexReader) next(ctx context.Context, count int) ([]string, error) {
	if r.done {
		return nil, nil
	}
	var (
		ms  []string
		err error
	)
	if r.o.desc {
		ms, err = r.rdb.ZRevRangeByLex(ctx, r.key, &redis.ZRangeBy{Min: "-", Max: r.bound, Count: int64(count)}).Result()
	} else {
		ms, err = r.rdb.ZRangeByLex(ctx, r.key, &redis.ZRangeBy{Min: r.bound, Max: "+", Count: int64(count)}).Result()
	}
	if err != nil {
		return nil, err
	}
	if len(ms) < count {
		r.done = true
	}
	if len(ms) > 0 {
		r.bound = "(" + ms[len(ms)-1]
	}
	return ms, nil
}

// FindWebhooks returns one page of the tenant's webhooks and the cursor of
// the next page ("" after the last). It walks the sort order's index, matches
// Search against the lowercased names the index holds, and reads only the
// records of candidates (in chunks, until the page is full when Status or
// Event need the record), so a page costs a few round trips however many
// webhooks the tenant has.
func (s *Store) FindWebhooks(ctx context.Context, f hookgate.WebhookFilter) ([]*hookgate.Webhook, string, error) {
	if err := checkTenant(f.Tenant); err != nil {
		return nil, "", err
	}
	o, err := parseSort(f.Sort)
	if err != nil {
		return nil, "", err
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	r := &indexReader{rdb: s.rdb, o: o, key: s.byCreatedKey(f.Tenant), bound: "-"}
	if o.byName {
		r.key = s.byNameKey(f.Tenant)
	}
	if o.desc {
		r.bound = "+"
	}
	if f.Cursor != "" {
		m, err := decodeCursor(o, f.Cursor)
		if err != nil {
			return nil, "", err
		}
		r.bound = "(" + m
	}
	search := strings.ToLower(f.Search)
	needRecord := f.Status != "" || f.Event != ""
	fetchChunk := min(max(limit+1, minFetchChunk), maxFetchChunk)
	chunk := indexChunk
	switch {
	case search == "" && !needRecord:
		chunk = limit + 1
	case search == "":
		chunk = fetchChunk
	}

	var (
		pending []candidate // matched the search, record not read yet
		page    []*hookgate.Webhook
		members []string // index member of each page entry, for the cursor
	)
	// want is how many more candidates are worth reading from the index.
	want := func() int {
		if needRecord {
			return fetchChunk
		}
		return limit + 1
	}
	for {
		for len(pending) < want() && !r.done {
			ms, err := r.next(ctx, chunk)
			if err != nil {
				return nil, "", wrap(ctx, err, "find webhooks of %s", f.Tenant)
			}
			for _, m := range ms {
				id, lname, ok := parseMember(o.byName, m)
				if ok && strings.Contains(lname, search) {
					pending = append(pending, candidate{id: id, member: m})
				}
			}
		}
		if !needRecord {
			// The index alone decides the page; read only its records.
			more := len(pending) > limit
			if more {
				pending = pending[:limit]
			}
			ws, err := s.fetchCandidates(ctx, f.Tenant, pending)
			if err != nil {
				return nil, "", err
			}
			for i, w := range ws {
				if w != nil {
					page = append(page, w)
					members = append(members, pending[i].member)
				}
			}
			if more && len(pending) > 0 {
				return page, encodeCursor(o, pending[len(pending)-1].member), nil
			}
			return page, "", nil
		}
		batch := pending[:min(fetchChunk, len(pending))]
		pending = pending[len(batch):]
		ws, err := s.fetchCandidates(ctx, f.Tenant, batch)
		if err != nil {
			return nil, "", err
		}
		for i, w := range ws {
			if w == nil || (f.Status != "" && w.EffectiveStatus() != f.Status) || (f.Event != "" && !w.Subscribed(f.Event)) {
				continue
			}
			page = append(page, w)
			members = append(members, batch[i].member)
			if len(page) > limit {
				return page[:limit], encodeCursor(o, members[limit-1]), nil
			}
		}
		if len(pending) == 0 && r.done {
			return page, "", nil
		}
	}
}

func (s *Store) fetchCandidates(ctx context.Context, tenant string, cs []candidate) ([]*hookgate.Webhook, error) {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.id
	}
	ws, err := s.fetch(ctx, tenant, ids, true)
	if err != nil {
		return nil, wrap(ctx, err, "find webhooks of %s", tenant)
	}
	return ws, nil
}
