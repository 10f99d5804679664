package gateway

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/hookgate/hookgate"
)

// TestEveryErrorCodeIsInTheOpenAPIDocument: a code the API can answer (the
// status table, and the two Fiber answers) is listed in the Error schema's
// enum, so that clients generated from the document know it.
func TestEveryErrorCodeIsInTheOpenAPIDocument(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas struct {
				Error struct {
					Properties struct {
						Error struct {
							Properties struct {
								Code struct {
									Enum []string `yaml:"enum"`
								} `yaml:"code"`
							} `yaml:"properties"`
						} `yaml:"error"`
					} `yaml:"properties"`
				} `yaml:"Error"`
			} `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(openapiYAML, &doc); err != nil {
		t.Fatal(err)
	}
	enum := doc.Components.Schemas.Error.Properties.Error.Properties.Code.Enum
	codes := []string{"method_not_allowed", "timeout"}
	codes = append(codes, hookgate.ErrorCodes()...)
	for _, code := range codes {
		if !slices.Contains(enum, code) {
			t.Errorf("error code %q is not in openapi.yaml's Error.code enum %v", code, enum)
		}
	}
}

// TestEveryErrorCodeIsInTheAPIDocs: docs/api.md's table of errors has a row
// for every code with the status it is answered with: clients match on
// codes, so a code nobody documented is a code nobody handles.
func TestEveryErrorCodeIsInTheAPIDocs(t *testing.T) {
	apiMD, err := os.ReadFile("../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	statuses := map[string]int{"method_not_allowed": 405, "timeout": 408}
	for _, code := range hookgate.ErrorCodes() {
		statuses[code] = hookgate.HTTPStatus(code)
	}
	for code, status := range statuses {
		if row := "| " + strconv.Itoa(status) + " | `" + code + "` |"; !strings.Contains(string(apiMD), row) {
			t.Errorf("docs/api.md's table of errors has no row starting %q", row)
		}
	}
}
