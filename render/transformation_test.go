package render_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/internal/transformation"
	"github.com/hookgate/hookgate/render"
)

const chatMessage = `function handler(input) {
  var d = input.event.data;
  return {body: {text: "New contact " + d.first_name + " " + d.last_name + " <" + d.email + ">", event_id: input.body.id},
          headers: {"X-Team": "sales"}};
}`

func jsPipeline() *render.Pipeline {
	return render.New(nil).WithTransformations(transformation.New(transformation.Limits{}))
}

func TestTransformationAppliesAfterTheFormat(t *testing.T) {
	p := jsPipeline()
	w := &hookgate.Webhook{ID: "wh_1", Format: "standard", Transformation: chatMessage, TransformationVersion: 1}
	got, err := p.Render(context.Background(), contactEvent(), w)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]string
	if err := json.Unmarshal(got.Body, &body); err != nil {
		t.Fatal(err)
	}
	if body["text"] != "New contact Allen Ji <allen@example.com>" || body["event_id"] != "evt_2KZ9Xq" || got.Headers["X-Team"] != "sales" {
		t.Fatalf("payload %s %v", got.Body, got.Headers)
	}
}

// The fast path of webhooks without a transformation is unchanged by an
// engine being configured.
func TestNoTransformationAllocatesNoMoreThanFormatStandard(t *testing.T) {
	d := allocsPerRender(render.Standard{})
	if p := allocsPerRender(jsPipeline()); p > d {
		t.Fatalf("pipeline with transformations enabled allocates %v per render, render.Standard %v", p, d)
	}
}

func TestTransformationWithoutAnEngineFailsAsTransformationError(t *testing.T) {
	w := &hookgate.Webhook{ID: "wh_1", Transformation: chatMessage, TransformationVersion: 1}
	_, err := render.New(nil).Render(context.Background(), contactEvent(), w)
	if err == nil || !errors.Is(err, hookgate.ErrTransformation) {
		t.Fatalf("err = %v", err)
	}
}

// BenchmarkRenderStandardTransformation is BenchmarkRenderStandard plus a
// small inline transformation (compiled once, runtimes pooled).
func BenchmarkRenderStandardTransformation(b *testing.B) {
	p := jsPipeline()
	ev := contactEvent()
	w := &hookgate.Webhook{ID: "wh_1", Format: "standard", Transformation: chatMessage, TransformationVersion: 1}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := p.Render(context.Background(), ev, w); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRenderStandardTransformationsEnabled is the baseline with the
// engine configured and a webhook without a transformation.
func BenchmarkRenderStandardTransformationsEnabled(b *testing.B) {
	p := jsPipeline()
	ev, w := contactEvent(), &hookgate.Webhook{Format: "standard"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := p.Render(context.Background(), ev, w); err != nil {
				b.Fatal(err)
			}
		}
	})
}
