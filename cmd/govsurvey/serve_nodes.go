package main

import (
	"context"
	"time"
)

// keyringReloadEvery is how often a serve node reads the keyring again.
// A data key rotated on another node (or by 'govsurvey keys rotate') is
// readable here at once — an unknown key id makes the node reload on the
// spot (SealingStore.ReloadOnUnknownKey) — but this node keeps sealing new
// answers with its previous key until it reloads: at most this long.
const keyringReloadEvery = 5 * time.Minute

// reloadKeysEvery reloads the keyring from the store every interval until
// ctx ends.
func (a *app) reloadKeysEvery(ctx context.Context, st *secureStore, interval time.Duration) {
	everyTick(ctx, interval, func() {
		if err := st.keys.Reload(ctx); err != nil && ctx.Err() == nil {
			a.log.Error("reloading the keyring", "err", err)
		}
	})
}
