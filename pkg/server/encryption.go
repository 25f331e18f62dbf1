package server

import (
	"context"
	"fmt"

	"k8s.io/apiserver/pkg/server/options/encryptionconfig"
	"k8s.io/klog/v2"
)

// loadEncryption reads the --encryption-provider-config file: upstream's
// EncryptionConfiguration, built into transformers by upstream's library. A KMS plugin's
// connection lives as long as ctx. Nil when the flag is empty.
func loadEncryption(ctx context.Context, file string) (*encryptionconfig.EncryptionConfiguration, error) {
	if file == "" {
		return nil, nil
	}
	cfg, err := encryptionconfig.LoadEncryptionConfig(ctx, file, false, "accountmesh")
	if err != nil {
		return nil, fmt.Errorf("failed to load --encryption-provider-config %s: %w", file, err)
	}
	resources := make([]string, 0, len(cfg.Transformers))
	for gr := range cfg.Transformers {
		resources = append(resources, gr.String())
	}
	klog.FromContext(ctx).Info("Encrypting resources at rest", "resources", resources, "configHash", cfg.EncryptionFileContentHash)
	return cfg, nil
}
