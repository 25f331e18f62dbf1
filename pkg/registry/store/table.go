package store

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/apiserver/pkg/registry/rest"
)

// Column is a table column of a resource, printed between NAME and AGE.
type Column struct {
	// Name is the column header.
	Name string
	// Type is the OpenAPI type of the cells: string, integer, number, boolean, date.
	Type string
	// Description says what the column shows.
	Description string
	// Priority 0 columns are always shown; higher ones only with -o wide.
	Priority int32
	// Value returns the cell of an object.
	Value func(obj runtime.Object) interface{}
}

type tableConvertor struct {
	resource schema.GroupResource
	columns  []Column
}

// NewTableConvertor returns a table convertor printing NAME, the given columns and AGE.
func NewTableConvertor(resource schema.GroupResource, columns ...Column) rest.TableConvertor {
	return &tableConvertor{resource: resource, columns: columns}
}

func (c *tableConvertor) ConvertToTable(_ context.Context, object runtime.Object, _ runtime.Object) (*metav1.Table, error) {
	table := &metav1.Table{}
	table.ColumnDefinitions = append(table.ColumnDefinitions, metav1.TableColumnDefinition{
		Name: "Name", Type: "string", Format: "name", Description: "Name must be unique within a namespace.",
	})
	for _, col := range c.columns {
		table.ColumnDefinitions = append(table.ColumnDefinitions, metav1.TableColumnDefinition{
			Name: col.Name, Type: col.Type, Description: col.Description, Priority: col.Priority,
		})
	}
	table.ColumnDefinitions = append(table.ColumnDefinitions, metav1.TableColumnDefinition{
		Name: "Age", Type: "string", Description: "Time since the object was created.",
	})

	addRow := func(obj runtime.Object) error {
		m, err := meta.Accessor(obj)
		if err != nil {
			return err
		}
		cells := make([]interface{}, 0, len(c.columns)+2)
		cells = append(cells, m.GetName())
		for _, col := range c.columns {
			cells = append(cells, col.Value(obj))
		}
		cells = append(cells, age(m.GetCreationTimestamp()))
		table.Rows = append(table.Rows, metav1.TableRow{Cells: cells, Object: runtime.RawExtension{Object: obj}})
		return nil
	}
	if meta.IsListType(object) {
		if err := meta.EachListItem(object, addRow); err != nil {
			return nil, err
		}
		if l, err := meta.ListAccessor(object); err == nil {
			table.ResourceVersion = l.GetResourceVersion()
			table.Continue = l.GetContinue()
			table.RemainingItemCount = l.GetRemainingItemCount()
		}
		return table, nil
	}
	if err := addRow(object); err != nil {
		return nil, fmt.Errorf("failed to convert %s to a table: %w", c.resource, err)
	}
	if m, err := meta.Accessor(object); err == nil {
		table.ResourceVersion = m.GetResourceVersion()
	}
	return table, nil
}

func age(t metav1.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(time.Since(t.Time))
}
