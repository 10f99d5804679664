package hookgate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// EventsDoc renders the catalogue as Markdown: docs/events.md is this text
// for the built-in catalogue (a test keeps the two equal), so the document
// and GET /v1/event-types come from the same source, events.yaml.
func EventsDoc(c *Catalogue) []byte {
	var b bytes.Buffer
	b.WriteString(`# Event catalogue

<!-- Generated from events.yaml by ` + "`go test . -run TestEventsDoc -update`" + `; do not edit. -->

Every event type a webhook may subscribe to, with the JSON Schema of its
` + "`data`" + ` and an example. ` + "`GET /v1/event-types`" + ` answers the same, per type:
` + "`name`, `category`, `description`, `shape`, `schema`, `example`" + ` (and ` + "`sources`" + `,
` + "`aliases`" + `). Publishers send ` + "`data`" + ` in these canonical fields
(docs/formats.md); schemas name the fields they know and leave the rest open.

With ` + "`events.validate: enforce`" + ` a published event whose data does not match
its type's schema is refused with 400 ` + "`schema_violation`" + ` naming the field;
with ` + "`warn`" + ` it is accepted, logged and counted
(` + "`hookgate_event_schema_violations_total`" + `); ` + "`off`" + ` (the default) checks nothing.

A test send ("Test endpoints") delivers the example of the first subscribed
type the webhook's format renders (docs/api.md).
`)
	cats := []string{}
	byCat := map[string][]EventType{}
	for _, t := range c.Types() {
		if _, ok := byCat[t.Category]; !ok {
			cats = append(cats, t.Category)
		}
		byCat[t.Category] = append(byCat[t.Category], t)
	}
	order := map[string]int{"CRM": 0, "Tasks": 1, "Calendar": 2, "Collaboration": 3, "Configuration": 4, "Communications": 5, "System": 6}
	sort.SliceStable(cats, func(i, j int) bool {
		oi, iok := order[cats[i]]
		oj, jok := order[cats[j]]
		if iok != jok {
			return iok
		}
		if oi != oj {
			return oi < oj
		}
		return cats[i] < cats[j]
	})
	var own []EventType
	for _, cat := range cats {
		fmt.Fprintf(&b, "\n## %s\n\n| type | description | data | sources |\n| --- | --- | --- | --- |\n", cat)
		for _, t := range byCat[cat] {
			data := "—"
			if t.Shape != "" {
				data = fmt.Sprintf("[%s](#shape-%s)", c.shapes[t.Shape].Title, t.Shape)
				if !bytes.Equal(t.Example, c.shapes[t.Shape].Example) {
					data += fmt.Sprintf(", [own example](#example-%s)", anchor(t.Name))
					own = append(own, t)
				}
			}
			name := "`" + t.Name + "`"
			if len(t.Aliases) > 0 {
				name += " (also `" + strings.Join(t.Aliases, "`, `") + "`)"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", name, t.Description, data, strings.Join(t.Sources, ", "))
		}
	}
	b.WriteString("\n## Data shapes\n")
	names := make([]string, 0, len(c.shapes))
	for n := range c.shapes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		sh := c.shapes[n]
		var users []string
		for _, t := range c.Types() {
			if t.Shape == n {
				users = append(users, "`"+t.Name+"`")
			}
		}
		fmt.Fprintf(&b, "\n<a id=\"shape-%s\"></a>\n### %s (`%s`)\n\nUsed by %s.\n\nSchema:\n\n%s\nExample:\n\n%s", n, sh.Title, n,
			strings.Join(users, ", "), jsonBlock(sh.Schema), jsonBlock(sh.Example))
	}
	if len(own) > 0 {
		b.WriteString("\n## Examples of their own\n\nThese types share a shape but show an example of their own.\n")
		for _, t := range own {
			fmt.Fprintf(&b, "\n<a id=\"example-%s\"></a>\n### `%s`\n\n%s", anchor(t.Name), t.Name, jsonBlock(t.Example))
		}
	}
	return b.Bytes()
}

func anchor(name string) string { return strings.NewReplacer(".", "-", "_", "-").Replace(name) }

func jsonBlock(doc JSONDoc) string {
	var out bytes.Buffer
	if err := json.Indent(&out, doc, "", "  "); err != nil {
		return "```\n" + string(doc) + "\n```\n"
	}
	return "```json\n" + out.String() + "\n```\n"
}
