package producers

import (
	"errors"
	"fmt"
	"time"
)

// Delivery modes (DeliveryConfig.Mode).
const (
	// AtLeastOnce publishes with the Writer and commits consumed offsets
	// after the results are acknowledged: after a crash the uncommitted tail
	// is scored again, so a reader may see duplicates.
	AtLeastOnce = "at_least_once"
	// ExactlyOnce publishes with Txn: scored events, dead letters and the
	// consumed offsets commit in one Kafka transaction, so a read_committed
	// reader sees each input's result exactly once.
	ExactlyOnce = "exactly_once"
)

// DeliveryConfig is streamscore.yaml's delivery section: which promise
// run keeps and, for exactly_once, how transactions are cut.
type DeliveryConfig struct {
	// Mode is at_least_once (the zero value means it) or exactly_once.
	Mode string `yaml:"mode"`
	// TransactionInterval is the longest a transaction stays open: it
	// commits after BatchesPerTransaction batches or this long after its
	// first batch, whichever comes first. Zero means 100 ms.
	TransactionInterval time.Duration `yaml:"transaction_interval"`
	// BatchesPerTransaction is how many whole micro-batches one
	// transaction covers at most. Zero means 1. More batches per
	// transaction cost fewer commits (each is about four broker round
	// trips) but hold results back until the commit.
	BatchesPerTransaction int `yaml:"batches_per_transaction"`
	// TransactionalID names this replica's transactional producer. It must
	// be stable across restarts of one replica and differ between replicas
	// (a restart with the same id fences the previous process). Empty
	// means "<group>-<hostname>". ${ENV} works, e.g. ${POD_NAME}.
	TransactionalID string `yaml:"transactional_id"`
	// TransactionTimeout is how long the broker lets a transaction stay
	// open before it aborts it (a crashed replica's open transaction is
	// aborted when the replica comes back or after this). Zero means 60 s;
	// keep it under the broker's transaction.max.timeout.ms (15 min by
	// default).
	TransactionTimeout time.Duration `yaml:"transaction_timeout"`
}

// DefaultDelivery returns the delivery section's defaults.
func DefaultDelivery() DeliveryConfig {
	return DeliveryConfig{Mode: AtLeastOnce, TransactionInterval: 100 * time.Millisecond, BatchesPerTransaction: 1, TransactionTimeout: time.Minute}
}

// Exactly reports whether the mode is exactly_once.
func (c *DeliveryConfig) Exactly() bool { return c.Mode == ExactlyOnce }

// Validate reports the first problem, naming the key and the fix.
func (c *DeliveryConfig) Validate() error {
	switch c.Mode {
	case "", AtLeastOnce, ExactlyOnce:
	default:
		return fmt.Errorf("delivery.mode: %q is not at_least_once or exactly_once", c.Mode)
	}
	switch {
	case c.TransactionInterval < 0:
		return errors.New("delivery.transaction_interval: must not be negative (e.g. 100ms)")
	case c.BatchesPerTransaction < 0:
		return errors.New("delivery.batches_per_transaction: must not be negative (1 commits every batch)")
	case c.TransactionTimeout < 0:
		return errors.New("delivery.transaction_timeout: must not be negative (e.g. 60s)")
	case c.TransactionTimeout > 0 && c.TransactionTimeout < time.Second:
		return fmt.Errorf("delivery.transaction_timeout: %s is too short for a transaction to commit; use at least 1s", c.TransactionTimeout)
	case c.TransactionTimeout > 0 && c.TransactionInterval >= c.TransactionTimeout:
		return errors.New("delivery.transaction_interval: must be shorter than delivery.transaction_timeout, or the broker aborts open transactions")
	}
	return nil
}
