// Package kube holds small helpers for reading the cluster.
package kube

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// PageSize is the number of objects asked for per List call.
const PageSize = 500

// ListPages lists with pagination, calling fn once per page. list is reused
// between pages, so fn must not keep references to its items. Reads go
// straight to the API server when r is the manager's API reader, so memory is
// bounded by one page, not by the size of the cluster.
func ListPages(ctx context.Context, r client.Reader, list client.ObjectList, fn func() error, opts ...client.ListOption) error {
	cont := ""
	for {
		pageOpts := append([]client.ListOption{client.Limit(PageSize), client.Continue(cont)}, opts...)
		if err := r.List(ctx, list, pageOpts...); err != nil {
			return fmt.Errorf("listing %T: %w", list, err)
		}
		if err := fn(); err != nil {
			return err
		}
		cont = list.GetContinue()
		if cont == "" {
			return nil
		}
		if err := meta.SetList(list, nil); err != nil {
			return err
		}
	}
}
