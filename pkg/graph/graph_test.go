package graph

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestGraph(t *testing.T) {
	tests := []struct {
		name    string
		parents map[string]string
		order   []string
		cycles  [][]string
	}{
		{
			name:    "chain",
			parents: map[string]string{"c": "b", "b": "a", "a": "debian:12"},
			order:   []string{"a", "b", "c"},
		},
		{
			name:    "forest by depth then name",
			parents: map[string]string{"r": "", "z": "r", "y": "r", "x1": "y", "q": "", "q1": "q"},
			order:   []string{"q", "r", "q1", "y", "z", "x1"},
		},
		{
			name:    "two independent cycles and a tail",
			parents: map[string]string{"b": "a", "a": "b", "z": "y", "y": "x", "x": "z", "t": "a", "ok": "", "ok2": "ok"},
			order:   []string{"ok", "ok2"},
			cycles:  [][]string{{"a", "b"}, {"x", "z", "y"}},
		},
		{
			name:    "self parent",
			parents: map[string]string{"s": "s"},
			cycles:  [][]string{{"s"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := New(tt.parents)
			assert.Equal(t, tt.order, g.Order())
			assert.Equal(t, tt.cycles, g.Cycles())
		})
	}
}

func TestClosure(t *testing.T) {
	g := New(map[string]string{"a": "", "b": "a", "c": "b", "d": "a"})
	assert.Equal(t, []string{"a", "b", "c"}, g.Closure([]string{"c"}))
	assert.Equal(t, []string{"b", "d"}, g.Children("a"))
}
