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

// Column is a table column of a resource.
type Column struct {
	// Name is the column header.
	Name string
	// Type is the OpenAPI type of the cells: string, integer, number, boolean, date.
	Type string
	// Format is the OpenAPI format of the cells; "name" marks the column of object names.
	Format string
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

// NewTableConvertor returns a table convertor printing NAME, the given columns of priority 0,
// AGE, and then the wider columns, as the printers of a real cluster do.
func NewTableConvertor(resource schema.GroupResource, columns ...Column) rest.TableConvertor {
	all := []Column{{
		Name: "Name", Type: "string", Format: "name", Description: "Name must be unique within a namespace.",
		Value: func(obj runtime.Object) interface{} { return objectMeta(obj).GetName() },
	}}
	var wide []Column
	for _, col := range columns {
		if col.Priority == 0 {
			all = append(all, col)
		} else {
			wide = append(wide, col)
		}
	}
	all = append(all, Column{
		Name: "Age", Type: "string", Description: "Time since the object was created.",
		Value: func(obj runtime.Object) interface{} { return age(objectMeta(obj).GetCreationTimestamp()) },
	})
	return NewColumnsTableConvertor(resource, append(all, wide...)...)
}

// NewColumnsTableConvertor returns a table convertor printing exactly the given columns, for
// resources whose tables in a real cluster have no NAME or AGE in the usual places.
func NewColumnsTableConvertor(resource schema.GroupResource, columns ...Column) rest.TableConvertor {
	return &tableConvertor{resource: resource, columns: columns}
}

// objectMeta returns the metadata of obj; the convertor checks beforehand that it has one.
func objectMeta(obj runtime.Object) metav1.Object {
	m, _ := meta.Accessor(obj)
	return m
}

// ConvertToTable implements rest.TableConvertor. With tableOptions' NoHeaders, which a watch
// sets after its first event, the table has rows only.
func (c *tableConvertor) ConvertToTable(_ context.Context, object runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	table := &metav1.Table{}
	if opts, ok := tableOptions.(*metav1.TableOptions); !ok || !opts.NoHeaders {
		for _, col := range c.columns {
			table.ColumnDefinitions = append(table.ColumnDefinitions, metav1.TableColumnDefinition{
				Name: col.Name, Type: col.Type, Format: col.Format, Description: col.Description, Priority: col.Priority,
			})
		}
	}

	addRow := func(obj runtime.Object) error {
		if _, err := meta.Accessor(obj); err != nil {
			return err
		}
		cells := make([]interface{}, 0, len(c.columns))
		for _, col := range c.columns {
			cells = append(cells, col.Value(obj))
		}
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
