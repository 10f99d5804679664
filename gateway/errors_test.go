package gateway

import (
	"slices"
	"testing"

	"gopkg.in/yaml.v3"
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
	for code := range statusOf {
		codes = append(codes, code)
	}
	for _, code := range codes {
		if !slices.Contains(enum, code) {
			t.Errorf("error code %q is not in openapi.yaml's Error.code enum %v", code, enum)
		}
	}
}
