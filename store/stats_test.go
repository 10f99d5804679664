package store_test

import (
	"testing"

	"github.com/hookgate/hookgate/store"
)

func TestPercentileIsNearestRank(t *testing.T) {
	vs := []float64{}
	for i := 100; i >= 1; i-- {
		vs = append(vs, float64(i))
	}
	for _, c := range []struct{ p, want float64 }{{50, 50}, {95, 95}, {100, 100}, {1, 1}} {
		if got := store.Percentile(vs, c.p); got != c.want {
			t.Errorf("p%v of 1..100 = %v, want %v", c.p, got, c.want)
		}
	}
	if got := store.Percentile([]float64{12.34}, 95); got != 12.3 {
		t.Errorf("p95 of one value = %v", got)
	}
	if got := store.Percentile(nil, 50); got != 0 {
		t.Errorf("p50 of none = %v", got)
	}
}
