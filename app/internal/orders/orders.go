// Package orders holds the order model and its validation rules.
package orders

import (
	"fmt"
	"regexp"
	"time"
)

// Limits of a valid order.
const (
	MaxItems          = 50
	MaxQuantity       = 1000
	MaxUnitPriceCents = 10_000_000
	MaxIDLength       = 64
	DefaultPageSize   = 20
	MaxPageSize       = 100
)

// Item is one order line.
type Item struct {
	SKU            string `json:"sku"`
	Quantity       int64  `json:"quantity"`
	UnitPriceCents int64  `json:"unit_price_cents"`
}

// New is an order as a client submits it.
type New struct {
	CustomerID string `json:"customer_id"`
	Currency   string `json:"currency"`
	Items      []Item `json:"items"`
}

// Order is a stored order.
type Order struct {
	ID         int64     `json:"id"`
	CustomerID string    `json:"customer_id"`
	Currency   string    `json:"currency"`
	Items      []Item    `json:"items"`
	TotalCents int64     `json:"total_cents"`
	CreatedAt  time.Time `json:"created_at"`
}

// ListQuery selects a page of orders: ids after After, at most Limit, of
// CustomerID when not empty.
type ListQuery struct {
	CustomerID string
	After      int64
	Limit      int
}

// FieldError is a validation failure of one field.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

var (
	idPattern       = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]*$`)
	currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)
)

// Validate checks a submitted order; the error is a *FieldError naming the
// first offending field.
func (n New) Validate() error {
	if err := validID("customer_id", n.CustomerID); err != nil {
		return err
	}
	if !currencyPattern.MatchString(n.Currency) {
		return &FieldError{"currency", "must be a three-letter ISO 4217 code in upper case, such as EUR"}
	}
	if len(n.Items) == 0 || len(n.Items) > MaxItems {
		return &FieldError{"items", fmt.Sprintf("must hold 1 to %d items", MaxItems)}
	}
	for i, it := range n.Items {
		field := fmt.Sprintf("items[%d]", i)
		if err := validID(field+".sku", it.SKU); err != nil {
			return err
		}
		if it.Quantity < 1 || it.Quantity > MaxQuantity {
			return &FieldError{field + ".quantity", fmt.Sprintf("must be from 1 to %d", MaxQuantity)}
		}
		if it.UnitPriceCents < 0 || it.UnitPriceCents > MaxUnitPriceCents {
			return &FieldError{field + ".unit_price_cents", fmt.Sprintf("must be from 0 to %d", MaxUnitPriceCents)}
		}
	}
	return nil
}

func validID(field, v string) error {
	if len(v) == 0 || len(v) > MaxIDLength || !idPattern.MatchString(v) {
		return &FieldError{field, fmt.Sprintf("must be 1 to %d characters of letters, digits, '.', '_', ':' or '-', starting with a letter or digit", MaxIDLength)}
	}
	return nil
}

// Total is the order's total in cents. Validated orders cannot overflow:
// 50 items * 1000 * 10^7 < 2^63.
func (n New) Total() int64 {
	var t int64
	for _, it := range n.Items {
		t += it.Quantity * it.UnitPriceCents
	}
	return t
}
