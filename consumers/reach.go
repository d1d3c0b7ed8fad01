package consumers

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/segmentio/kafka-go"
)

// ErrSilentListener is wrapped by Reach's error when an address accepted
// the connection but did not answer a Kafka request in time: something
// other than a Kafka broker (or a hung one) listens there.
var ErrSilentListener = errors.New("accepted the connection but sent no Kafka response")

// Reach connects to each broker in turn and asks it for its API versions,
// each step bounded by timeout (zero means 10 s) and by ctx, and returns nil
// as soon as one answers. Otherwise the error says, for each address, what
// answered and what did not: refused, unreachable, or
//
//	127.0.0.1:6379 accepted the connection but sent no Kafka response within 10s: is it a Kafka broker?
//
// It returns ctx's error at once when ctx is done.
func Reach(ctx context.Context, brokers []string, d *kafka.Dialer, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	if d == nil {
		d = kafka.DefaultDialer
	}
	var errs []error
	for _, b := range brokers {
		err := reachOne(ctx, b, d, timeout)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func reachOne(ctx context.Context, addr string, d *kafka.Dialer, timeout time.Duration) error {
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// The TLS and SASL handshakes happen inside DialContext and are bounded
	// by dctx; a listener that never answers them is silent too.
	dd := *d
	dd.Timeout = timeout
	conn, err := dd.DialContext(dctx, "tcp", addr)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if silentDial(err) {
			return fmt.Errorf("%s %w within %s: is it a Kafka broker (and are kafka.tls and kafka.sasl right)?", addr, ErrSilentListener, timeout)
		}
		return fmt.Errorf("%s: %w", addr, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(timeout))
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if _, err := conn.ApiVersions(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("%s %w within %s: is it a Kafka broker?", addr, ErrSilentListener, timeout)
		}
		return fmt.Errorf("%s accepted the connection but did not speak Kafka: %w", addr, err)
	}
	return nil
}

// silentDial reports whether a dial error came from a connection that was
// accepted and then went quiet (a TLS or SASL handshake that timed out),
// rather than from one that was refused or never reached.
func silentDial(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) {
		return false
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return false
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return false
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || strings.Contains(err.Error(), "i/o timeout")
}

// WaitForBrokers calls Reach until a broker answers, waiting with backoff
// (200 ms doubling to 5 s) and logging each failed try at WARN, for up to
// startupTimeout (zero means 60 s). A listener that is not a Kafka broker
// (ErrSilentListener) fails at once: waiting would not change it. It
// returns ctx's error at once when ctx is done.
func WaitForBrokers(ctx context.Context, brokers []string, d *kafka.Dialer, dialTimeout, startupTimeout time.Duration, log *slog.Logger) error {
	if startupTimeout <= 0 {
		startupTimeout = time.Minute
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	deadline := time.Now().Add(startupTimeout)
	for attempt := 1; ; attempt++ {
		err := Reach(ctx, brokers, d, dialTimeout)
		switch {
		case err == nil:
			if attempt > 1 {
				log.Info("a Kafka broker answers", "attempts", attempt)
			}
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, ErrSilentListener):
			return fmt.Errorf("connecting to Kafka (check brokers, kafka.tls and kafka.sasl): %w", err)
		case refused(err):
			// The broker answered and said no: waiting will not change
			// its mind, so say what to fix now.
			return fmt.Errorf("connecting to Kafka (check kafka.sasl and kafka.tls): %w", err)
		}
		wait := min(200*time.Millisecond<<min(attempt-1, 5), 5*time.Second)
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("connecting to Kafka: no broker answered within kafka.startup_timeout (%s): %w", startupTimeout, err)
		}
		log.Warn("no Kafka broker answers yet; waiting", "attempt", attempt, "retry_in", wait, "gives_up_in", left.Round(time.Second), "err", err)
		t := time.NewTimer(min(wait, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// refused reports whether err is a broker's final answer to these
// credentials or this TLS set-up (a wrong password, a mechanism it does not
// offer, a certificate it does not trust), as opposed to a broker that is
// not up yet.
func refused(err error) bool {
	var (
		unknownCA  x509.UnknownAuthorityError
		invalid    x509.CertificateInvalidError
		hostname   x509.HostnameError
		verify     *tls.CertificateVerificationError
		recordHead tls.RecordHeaderError
	)
	return errors.Is(err, kafka.SASLAuthenticationFailed) ||
		errors.Is(err, kafka.UnsupportedSASLMechanism) ||
		errors.Is(err, kafka.IllegalSASLState) ||
		errors.As(err, &unknownCA) || errors.As(err, &invalid) || errors.As(err, &hostname) ||
		errors.As(err, &verify) || errors.As(err, &recordHead)
}
