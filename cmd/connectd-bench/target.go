package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// checkLoopback refuses any target that is not on this machine's loopback
// interface: the tool is for measuring a local server, never for load on
// someone else's.
func checkLoopback(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("target %q: %v", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("target %q: want an http:// URL", raw)
	}
	if u.User != nil {
		return nil, fmt.Errorf("target %q: user-info is not allowed", raw)
	}
	host := u.Hostname()
	if host == "" {
		return nil, fmt.Errorf("target %q: no host", raw)
	}
	if !loopbackHost(host) {
		return nil, fmt.Errorf("target %q: refusing a non-loopback host %q (only 127.0.0.0/8, ::1 and localhost)", raw, host)
	}
	if u.Path == "/" {
		u.Path = ""
	}
	return u, nil
}

func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loopbackControl is a net.Dialer Control hook that refuses to connect
// anywhere but loopback, whatever a name resolved to.
func loopbackControl(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("refusing to connect to non-loopback address %s", address)
	}
	return nil
}

func newClient(conns int, timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second, Control: loopbackControl}
	tr := &http.Transport{
		DialContext:         d.DialContext,
		MaxIdleConns:        2 * conns,
		MaxIdleConnsPerHost: 2 * conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		// The entry POST answers 303: that answer is what is measured.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// procMem reads VmRSS and VmHWM (bytes) of a process from /proc/PID/status.
func procMem(pid int) (rss, hwm int64, err error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		var dst *int64
		switch {
		case strings.HasPrefix(line, "VmRSS:"):
			dst = &rss
		case strings.HasPrefix(line, "VmHWM:"):
			dst = &hwm
		default:
			continue
		}
		fields := strings.Fields(line)
		if len(fields) >= 2 {
			kb, _ := strconv.ParseInt(fields[1], 10, 64)
			*dst = kb * 1024
		}
	}
	if hwm == 0 && rss == 0 {
		return 0, 0, errors.New("no VmRSS/VmHWM in /proc/" + strconv.Itoa(pid) + "/status")
	}
	return rss, hwm, sc.Err()
}

// resetHWM asks the kernel to reset the process's peak RSS (VmHWM) to its
// current RSS (Linux >= 4.0, same user or root), so that the peak read after
// a run belongs to that run. It reports whether that worked.
func resetHWM(pid int) bool {
	return os.WriteFile("/proc/"+strconv.Itoa(pid)+"/clear_refs", []byte("5"), 0) == nil
}

// pidFrom returns pid, or the PID written in pidfile.
func pidFrom(pid int, pidfile string) (int, error) {
	if pid > 0 || pidfile == "" {
		return pid, nil
	}
	b, err := os.ReadFile(pidfile)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("pidfile %s: no PID in it", pidfile)
	}
	return n, nil
}

// rssSampler samples VmRSS every 100 ms until stopped and keeps the largest.
type rssSampler struct {
	pid    int
	stop   chan struct{}
	done   chan int64
	hwmRst bool
}

func startRSS(pid int) *rssSampler {
	if pid <= 0 {
		return nil
	}
	s := &rssSampler{pid: pid, stop: make(chan struct{}), done: make(chan int64, 1)}
	s.hwmRst = resetHWM(pid)
	go func() {
		var peak int64
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if rss, _, err := procMem(pid); err == nil && rss > peak {
				peak = rss
			}
			select {
			case <-s.stop:
				s.done <- peak
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// finish returns the sampled peak RSS and VmHWM, in bytes.
func (s *rssSampler) finish() (sampled, hwm int64) {
	if s == nil {
		return 0, 0
	}
	close(s.stop)
	sampled = <-s.done
	_, hwm, _ = procMem(s.pid)
	return sampled, hwm
}

func waitHealthy(ctx context.Context, c *http.Client, base *url.URL) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", base.String()+"/healthz", nil)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s/healthz: %v", base, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
