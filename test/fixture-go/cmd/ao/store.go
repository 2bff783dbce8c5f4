package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The store: three files in the data dir, like the real rewrite's SQLite store in WAL mode, so that
// backing up ao.db alone loses data just as it would there. The format is the fixture's own (Go 1.19,
// no third-party modules):
//   ao.db      a JSON snapshot, rewritten atomically at each checkpoint
//   ao.db-wal  committed changes since that snapshot, one JSON record per line
//   ao.db-shm  the wal index: how many wal bytes are committed (a torn last line is not)
// A writer opens the store (creating -wal and -shm), appends, and checkpoints on a clean close, which
// folds the wal into ao.db and removes -wal and -shm. A process killed while it holds the store leaves
// all three, with data only in the wal.

const storeFormat = "ao-fixture-store"

type storeData struct {
	Format   string                     `json:"format"`
	Schema   int                        `json:"schema"`
	Projects map[string]json.RawMessage `json:"projects"`
	Sessions map[string]json.RawMessage `json:"sessions"`
	Events   []json.RawMessage          `json:"events"`
}

type walRecord struct {
	Op    string          `json:"op"` // project | session | event
	Key   string          `json:"key,omitempty"`
	Value json.RawMessage `json:"value"`
}

type store struct {
	dir  string
	data storeData
	wal  *os.File
	size int64
}

func dbPath(dir string) string { return filepath.Join(dir, "ao.db") }

func emptyData() storeData {
	return storeData{Format: storeFormat, Schema: 1, Projects: map[string]json.RawMessage{}, Sessions: map[string]json.RawMessage{}}
}

// readStore loads the snapshot plus the committed part of the wal, without opening it for writing.
func readStore(dir string) (storeData, error) {
	d := emptyData()
	raw, err := os.ReadFile(dbPath(dir))
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return d, err
	default:
		if err := json.Unmarshal(raw, &d); err != nil || d.Format != storeFormat {
			return d, fmt.Errorf("store %s is corrupt or not a fixture store", dbPath(dir))
		}
		if d.Projects == nil {
			d.Projects = map[string]json.RawMessage{}
		}
		if d.Sessions == nil {
			d.Sessions = map[string]json.RawMessage{}
		}
	}
	wal, err := os.ReadFile(dbPath(dir) + "-wal")
	if errors.Is(err, os.ErrNotExist) {
		return d, nil
	}
	if err != nil {
		return d, err
	}
	if n, ok := committedBytes(dir); ok && n <= int64(len(wal)) {
		wal = wal[:n]
	}
	sc := bufio.NewScanner(bytes.NewReader(wal))
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		var r walRecord
		if json.Unmarshal(sc.Bytes(), &r) != nil {
			break // a torn record ends the committed part
		}
		d.apply(r)
	}
	return d, nil
}

func committedBytes(dir string) (int64, bool) {
	raw, err := os.ReadFile(dbPath(dir) + "-shm")
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimPrefix(string(bytes.TrimRight(raw, "\x00")), "committed=")), 10, 64)
	return n, err == nil
}

func (d *storeData) apply(r walRecord) {
	switch r.Op {
	case "project":
		d.Projects[r.Key] = r.Value
	case "session":
		d.Sessions[r.Key] = r.Value
	case "event":
		d.Events = append(d.Events, r.Value)
	}
}

// openStore opens the store for writing (the daemon, or `ao import` with the daemon stopped).
func openStore(dir string) (*store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	d, err := readStore(dir)
	if err != nil {
		return nil, err
	}
	// Like SQLite, opening creates the main file at once.
	if _, err := os.Stat(dbPath(dir)); os.IsNotExist(err) {
		raw, _ := json.MarshalIndent(d, "", " ")
		if err := writeFileAtomic(dbPath(dir), raw, 0o644); err != nil {
			return nil, err
		}
	}
	wal, err := os.OpenFile(dbPath(dir)+"-wal", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	info, err := wal.Stat()
	if err != nil {
		wal.Close()
		return nil, err
	}
	s := &store{dir: dir, data: d, wal: wal, size: info.Size()}
	if n, ok := committedBytes(dir); ok && n < s.size {
		// Drop a torn tail left by a crash.
		if err := wal.Truncate(n); err != nil {
			return nil, err
		}
		s.size = n
	}
	if _, err := wal.Seek(s.size, 0); err != nil {
		return nil, err
	}
	return s, s.writeIndex()
}

func (s *store) writeIndex() error {
	index := make([]byte, 32768) // the size SQLite's wal index starts at
	copy(index, fmt.Sprintf("committed=%d\n", s.size))
	return os.WriteFile(dbPath(s.dir)+"-shm", index, 0o644)
}

// commit appends records to the wal, syncs, then moves the committed mark past them.
func (s *store) commit(records ...walRecord) error {
	var buf bytes.Buffer
	for _, r := range records {
		line, err := json.Marshal(r)
		if err != nil {
			return err
		}
		buf.Write(line)
		buf.WriteByte('\n')
	}
	if _, err := s.wal.Write(buf.Bytes()); err != nil {
		return err
	}
	if err := s.wal.Sync(); err != nil {
		return err
	}
	s.size += int64(buf.Len())
	for _, r := range records {
		s.data.apply(r)
	}
	return s.writeIndex()
}

func (s *store) event(kind string) error {
	v, _ := json.Marshal(map[string]string{"kind": kind, "at": time.Now().UTC().Format(time.RFC3339Nano)})
	return s.commit(walRecord{Op: "event", Value: v})
}

// close checkpoints: the snapshot takes everything, then -wal and -shm go.
func (s *store) close() error {
	raw, err := json.MarshalIndent(s.data, "", " ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(dbPath(s.dir), raw, 0o644); err != nil {
		return err
	}
	s.wal.Close()
	os.Remove(dbPath(s.dir) + "-wal")
	os.Remove(dbPath(s.dir) + "-shm")
	return nil
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}
