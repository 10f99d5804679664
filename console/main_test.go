package console_test

import (
	"testing"

	"github.com/hookgate/hookgate/internal/testenv"
)

// TestMain removes the plugins the tests built (testenv.Build).
func TestMain(m *testing.M) { testenv.Main(m) }
