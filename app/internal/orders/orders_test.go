package orders

import (
	"errors"
	"strings"
	"testing"
)

func valid() New {
	return New{CustomerID: "cust-1", Currency: "EUR", Items: []Item{{SKU: "sku-1", Quantity: 2, UnitPriceCents: 150}}}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name      string
		mutate    func(*New)
		wantField string
	}{
		{"valid", func(*New) {}, ""},
		{"empty customer", func(n *New) { n.CustomerID = "" }, "customer_id"},
		{"customer too long", func(n *New) { n.CustomerID = strings.Repeat("a", MaxIDLength+1) }, "customer_id"},
		{"customer with space", func(n *New) { n.CustomerID = "a b" }, "customer_id"},
		{"customer max length", func(n *New) { n.CustomerID = strings.Repeat("a", MaxIDLength) }, ""},
		{"lower-case currency", func(n *New) { n.Currency = "eur" }, "currency"},
		{"no items", func(n *New) { n.Items = nil }, "items"},
		{"too many items", func(n *New) { n.Items = make([]Item, MaxItems+1) }, "items"},
		{"zero quantity", func(n *New) { n.Items[0].Quantity = 0 }, "items[0].quantity"},
		{"quantity too large", func(n *New) { n.Items[0].Quantity = MaxQuantity + 1 }, "items[0].quantity"},
		{"max quantity", func(n *New) { n.Items[0].Quantity = MaxQuantity }, ""},
		{"negative price", func(n *New) { n.Items[0].UnitPriceCents = -1 }, "items[0].unit_price_cents"},
		{"price too large", func(n *New) { n.Items[0].UnitPriceCents = MaxUnitPriceCents + 1 }, "items[0].unit_price_cents"},
		{"free item", func(n *New) { n.Items[0].UnitPriceCents = 0 }, ""},
		{"bad second sku", func(n *New) { n.Items = append(n.Items, Item{SKU: "", Quantity: 1}) }, "items[1].sku"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := valid()
			tt.mutate(&n)
			err := n.Validate()
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.wantField {
				t.Fatalf("Validate() = %v, want a FieldError for %s", err, tt.wantField)
			}
		})
	}
}

func TestTotal(t *testing.T) {
	tests := []struct {
		items []Item
		want  int64
	}{
		{[]Item{{Quantity: 2, UnitPriceCents: 150}}, 300},
		{[]Item{{Quantity: 1, UnitPriceCents: 99}, {Quantity: 3, UnitPriceCents: 1}}, 102},
		{nil, 0},
	}
	for _, tt := range tests {
		if got := (New{Items: tt.items}).Total(); got != tt.want {
			t.Errorf("Total(%v) = %d, want %d", tt.items, got, tt.want)
		}
	}
	maxItems := make([]Item, MaxItems)
	for i := range maxItems {
		maxItems[i] = Item{SKU: "s", Quantity: MaxQuantity, UnitPriceCents: MaxUnitPriceCents}
	}
	if got := (New{Items: maxItems}).Total(); got != int64(MaxItems)*MaxQuantity*MaxUnitPriceCents {
		t.Errorf("Total of the largest order = %d, overflowed", got)
	}
}
