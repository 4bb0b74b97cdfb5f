// Command ferretdb-launcher runs an embedded FerretDB (SQLite backend) for the
// carshare integration tests. It exists because `go install
// github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2` produces a binary that panics at
// start (build/version/version.txt is generated in their repository and missing from
// the module zip); as our own main module we use the embeddable package instead.
//
// Usage: ferretdb -listen 127.0.0.1:27017 -sqlite-dir /tmp/ferret-data
// Runs until SIGINT/SIGTERM (or, with -exit-on-stdin-eof, until stdin closes). Prints "ferretdb ready <uri>" on stdout once listening.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/build/version"
	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on")
	sqliteDir := flag.String("sqlite-dir", "", "directory for SQLite databases (required)")
	logLevel := flag.String("log-level", "warn", "log level: debug, info, warn, error")
	exitOnStdinEOF := flag.Bool("exit-on-stdin-eof", false,
		"exit when stdin is closed (lets a parent that dies without cleanup take us down with it)")
	flag.Parse()

	if *sqliteDir == "" {
		fmt.Fprintln(os.Stderr, "ferretdb: -sqlite-dir is required")
		os.Exit(2)
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb: bad -log-level: %s\n", err)
		os.Exit(2)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(logger)

	dir, err := filepath.Abs(*sqliteDir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb: %s\n", err)
		os.Exit(1)
	}
	if err = os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb: %s\n", err)
		os.Exit(1)
	}

	// Embedded builds report version "unknown"; report the module version instead so
	// buildInfo.ferretdbVersion is meaningful to tests.
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range bi.Deps {
			if dep.Path == "github.com/FerretDB/FerretDB" {
				version.Get().Version = dep.Version
			}
		}
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listen},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/",
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb: %s\n", err)
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if *exitOnStdinEOF {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			stop()
		}()
	}

	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := f.Run(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "ferretdb: %s\n", err)
		}
	}()

	// Announce readiness once the port accepts connections.
	go func() {
		for ctx.Err() == nil {
			c, err := net.DialTimeout("tcp", *listen, 200*time.Millisecond)
			if err == nil {
				_ = c.Close()
				fmt.Printf("ferretdb ready %s\n", f.MongoDBURI())
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()

	<-done
}
