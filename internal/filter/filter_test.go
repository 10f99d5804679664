package filter

import (
	"errors"
	"strings"
	"testing"
)

const deal = `{"id":"d_1","amount":1500,"currency":"EUR","stage":"won","owner":{"id":"u_7","team":"north"},
"tags":["vip","q4"],"items":[{"sku":"A-1","qty":2}],"closed_at":"2026-11-20T10:00:00Z","note":null,"won":true,
"we.ird":"dot","a*b":"star"}`

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		filter string
		typ    string
		want   bool
	}{
		{`{}`, "deal.won", true},
		{`null`, "deal.won", true},
		{`{"type":"deal.won"}`, "deal.won", true},
		{`{"type":"deal.won"}`, "deal.lost", false},
		{`{"type":{"$in":["deal.won","deal.lost"]}}`, "deal.lost", true},
		{`{"data.amount":1500}`, "", true},
		{`{"data.amount":1500.0}`, "", true},
		{`{"data.amount":{"$eq":1499}}`, "", false},
		{`{"data.amount":{"$neq":1499}}`, "", true},
		{`{"data.amount":{"$ne":1500}}`, "", false},
		{`{"data.amount":{"$gte":1000}}`, "", true},
		{`{"data.amount":{"$gt":1500}}`, "", false},
		{`{"data.amount":{"$gte":1500,"$lt":2000}}`, "", true},
		{`{"data.amount":{"$lte":1499}}`, "", false},
		{`{"data.amount":{"$gt":"1000"}}`, "", false}, // a number never compares with a string
		{`{"data.closed_at":{"$gte":"2026-11-01T00:00:00Z"}}`, "", true},
		{`{"data.closed_at":{"$lt":"2026-11-01T00:00:00Z"}}`, "", false},
		{`{"data.currency":{"$in":["USD","EUR"]}}`, "", true},
		{`{"data.currency":{"$nin":["USD","EUR"]}}`, "", false},
		{`{"data.owner.id":"u_7"}`, "", true},
		{`{"data.owner":{"id":"u_7","team":"north"}}`, "", true},
		{`{"data.owner":{"team":"north","id":"u_7"}}`, "", false}, // objects compare as written
		{`{"data.tags":["vip","q4"]}`, "", true},
		{`{"data.items.0.sku":"A-1"}`, "", true},
		{`{"data.items.1.sku":{"$exist":false}}`, "", true},
		{`{"data.missing":{"$exist":true}}`, "", false},
		{`{"data.missing":{"$exists":false}}`, "", true},
		{`{"data.note":{"$exist":true}}`, "", true}, // null is present
		{`{"data.note":null}`, "", true},
		{`{"data.missing":null}`, "", false},
		{`{"data.missing":{"$neq":"x"}}`, "", true},
		{`{"data.missing":{"$nin":["x"]}}`, "", true},
		{`{"data.missing":{"$gt":0}}`, "", false},
		{`{"data.won":true}`, "", true},
		{`{"data.won":false}`, "", false},
		{`{"data.we.ird":"dot"}`, "", false}, // dots are path separators
		{`{"data.a*b":"star"}`, "", true},    // other characters are literal
		{`{"$or":[{"data.amount":{"$gt":5000}},{"data.stage":"won"}]}`, "", true},
		{`{"$or":[{"data.amount":{"$gt":5000}},{"data.stage":"lost"}]}`, "", false},
		{`{"$and":[{"data.amount":{"$gt":1000}},{"data.stage":"won"}]}`, "", true},
		{`{"$and":[{"data.amount":{"$gt":1000}},{"data.stage":"lost"}]}`, "", false},
		{`{"data.amount":{"$gt":1000},"$or":[{"data.currency":"USD"},{"data.owner.team":"north"}]}`, "", true},
		{`{"data":{"$exist":true}}`, "", true},
	} {
		f, err := Parse([]byte(tc.filter))
		if err != nil {
			t.Fatalf("Parse(%s): %v", tc.filter, err)
		}
		if got := f.Match(tc.typ, []byte(deal)); got != tc.want {
			t.Errorf("%s on the deal (type %q) = %v, want %v", tc.filter, tc.typ, got, tc.want)
		}
	}
}

func TestParseNamesWhatIsWrong(t *testing.T) {
	for _, tc := range []struct{ filter, path, msg string }{
		{`[1]`, "", "must be a JSON object"},
		{`{"data.amount":`, "", "not valid JSON"},
		{`{"amount":1}`, "amount", "unknown path"},
		{`{"data..x":1}`, "data..x", "empty path segment"},
		{`{"data.amount":{"$between":[1,2]}}`, "data.amount.$between", "unknown operator"},
		{`{"data.amount":{"$gt":[1]}}`, "data.amount.$gt", "number or a string"},
		{`{"data.amount":{"$in":1}}`, "data.amount.$in", "list of values"},
		{`{"data.amount":{"$exist":"yes"}}`, "data.amount.$exist", "true or false"},
		{`{"$or":[]}`, "$or", "non-empty list"},
		{`{"$or":[1]}`, "$or[0]", "filter object"},
		{`{"$or":[{"data.x":{"$lt":{}}}]}`, "$or[0].data.x.$lt", "number or a string"},
		{`{"$nor":[{"type":"x"}]}`, "$nor", "unknown operator"},
		{`{"type":"a","type":"b"}`, "type", "appears twice"},
		{`{"data.x":"` + strings.Repeat("a", MaxBytes) + `"}`, "", "over the limit"},
		{`{"data.x":{"$in":[` + strings.Repeat("1,", MaxIn) + `1]}}`, "data.x.$in", "at most"},
		{`{"$or":[` + strings.Repeat(`{"type":"a"},`, MaxClauses) + `{"type":"b"}]}`, "$or[64].type", "more than"},
		{strings.Repeat(`{"$or":[`, MaxDepth+2) + `{"type":"a"}` + strings.Repeat(`]}`, MaxDepth+2), "", "nested deeper"},
	} {
		_, err := Parse([]byte(tc.filter))
		var fe *Error
		if !errors.As(err, &fe) || !errors.Is(err, ErrInvalid) {
			t.Fatalf("Parse(%.60s) = %v, want an *Error", tc.filter, err)
		}
		if (tc.path != "" && fe.Path != tc.path) || !strings.Contains(fe.Message, tc.msg) {
			t.Errorf("Parse(%.60s) = path %q message %q; want path %q, message containing %q", tc.filter, fe.Path, fe.Message, tc.path, tc.msg)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{`{}`, `{"type":"deal.won"}`, `{"data.amount":{"$gte":1000,"$lt":5}}`,
		`{"$or":[{"data.a":{"$in":[1,"x",null]}},{"data.b.c":{"$exist":false}}]}`, `{"data.a*b":[1,{"x":2}]}`} {
		f.Add(s, deal)
	}
	f.Fuzz(func(t *testing.T, filter, data string) {
		flt, err := Parse([]byte(filter))
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("error of another kind: %v", err)
			}
			return
		}
		flt.Match("deal.won", []byte(data)) // must not panic on any data
	})
}

// A 3-clause filter on a 1 KB event: the target is under 2 µs.
func BenchmarkMatch3Clauses1KB(b *testing.B) {
	data := []byte(`{"id":"d_1","amount":1500,"currency":"EUR","stage":"won","owner":{"id":"u_7","team":"north"},"pad":"` +
		strings.Repeat("x", 1024-150) + `","closed_at":"2026-11-20T10:00:00Z"}`)
	f, err := Parse([]byte(`{"data.amount":{"$gte":1000},"data.currency":{"$in":["EUR","USD"]},"data.owner.team":"north"}`))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if !f.Match("deal.won", data) {
			b.Fatal("no match")
		}
	}
}
