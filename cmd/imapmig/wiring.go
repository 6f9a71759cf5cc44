package main

import (
	"log/slog"

	"github.com/imapmig/imapmig/migrate/config"
)

// productionWiring builds the real adapters from the config.
func productionWiring(cfg *config.Config, log *slog.Logger) *wiring {
	return &wiring{}
}
