// Command connectd-bench drives a running connectd (and, with --baseline,
// the reference server of ../shared/perf) over loopback and reports, per
// endpoint, throughput, latency percentiles, errors and the server's peak
// memory.
//
//	connectd-bench --url http://127.0.0.1:8080 --key cdk_… --all
//	connectd-bench --url … --key … --baseline http://127.0.0.1:18080 --baseline-seed 300000 --rounds 3 --all
//
// Every run stops at --duration or after --requests operations, whichever
// comes first. Targets other than loopback are refused.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

type config struct {
	url, project, key       string
	pid                     int
	pidfile                 string
	baseline                string
	bProject, bKey          string
	bPid                    int
	bPidfile                string
	bSeed, bEntryStart      int
	scenario                string
	all                     bool
	duration, warmup, pause time.Duration
	timeout                 time.Duration
	requests                int64
	conns, rounds           int
	getPool, entryPool      int
	jsonOut, label          string
}

func main() {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "connectd-bench:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("connectd-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.url, "url", "http://127.0.0.1:8080", "connectd base URL (loopback only)")
	fs.StringVar(&c.project, "project", "demo", "connectd project ID (the demo project: its data is in the create bodies)")
	fs.StringVar(&c.key, "key", os.Getenv("CONNECTD_BENCH_KEY"), "connectd API key of the project (default $CONNECTD_BENCH_KEY)")
	fs.IntVar(&c.pid, "server-pid", 0, "connectd's PID, to read its peak RSS from /proc")
	fs.StringVar(&c.pidfile, "pidfile", "", "file holding connectd's PID (instead of --server-pid)")
	fs.StringVar(&c.baseline, "baseline", "", "baseline server URL (../shared/perf/run-baseline.sh); runs both alternately and prints ratios")
	fs.StringVar(&c.bProject, "baseline-project", "proj_bench", "baseline project in paths")
	fs.StringVar(&c.bKey, "baseline-key", "sk_test_baseline", "baseline API key")
	fs.IntVar(&c.bPid, "baseline-pid", 0, "baseline server PID")
	fs.StringVar(&c.bPidfile, "baseline-pidfile", "", "file holding the baseline's PID (run-baseline.sh writes /tmp/baseline-PORT.pid)")
	fs.IntVar(&c.bSeed, "baseline-seed", 0, "the SEED the baseline was started with (its get and entry use cs_seed_%08d)")
	fs.IntVar(&c.bEntryStart, "baseline-entry-start", 0, "first seeded index the baseline entry consumes (when re-running against the same baseline)")
	fs.StringVar(&c.scenario, "scenario", "create", "create, get, list, entry or mixed; several separated by commas")
	fs.BoolVar(&c.all, "all", false, "every scenario")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "length of each measured run")
	fs.Int64Var(&c.requests, "requests", 1_000_000, "at most this many operations per run (an entry operation is connectd's GET+POST)")
	fs.IntVar(&c.conns, "connections", 32, "concurrent connections")
	fs.DurationVar(&c.warmup, "warmup", 2*time.Second, "unmeasured warm-up before each run")
	fs.DurationVar(&c.pause, "pause", time.Second, "idle time between runs")
	fs.IntVar(&c.rounds, "rounds", 0, "rounds (default 1, or 3 with --baseline)")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Second, "per-request timeout")
	fs.IntVar(&c.getPool, "get-pool", 1000, "sessions created before the runs for get (connectd)")
	fs.IntVar(&c.entryPool, "entry-pool", 10000, "sessions created before the runs for entry, consumed across rounds (connectd); a run that finds none left stops early")
	fs.StringVar(&c.jsonOut, "json", "", "also write the results as JSON to this file")
	fs.StringVar(&c.label, "label", "", "free text recorded in the JSON, such as the backend")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if c.duration <= 0 || c.requests <= 0 || c.conns <= 0 {
		return nil, errors.New("--duration, --requests and --connections must be positive")
	}
	if c.rounds <= 0 {
		c.rounds = 1
		if c.baseline != "" {
			c.rounds = 3
		}
	}
	return c, nil
}

func (c *config) scenarios() ([]string, error) {
	if c.all {
		return scenarioNames, nil
	}
	var out []string
	for _, s := range strings.Split(c.scenario, ",") {
		s = strings.TrimSpace(s)
		ok := false
		for _, n := range scenarioNames {
			ok = ok || n == s
		}
		if !ok {
			return nil, fmt.Errorf("--scenario %q: want create, get, list, entry or mixed", s)
		}
		out = append(out, s)
	}
	return out, nil
}

type report struct {
	Label     string       `json:"label,omitempty"`
	Started   time.Time    `json:"started"`
	Machine   machine      `json:"machine"`
	Settings  settings     `json:"settings"`
	Runs      []runResult  `json:"runs"`
	Summary   []summaryRow `json:"summary"`
	Ratios    []ratioRow   `json:"ratios,omitempty"`
	LoadAfter string       `json:"loadavg_after"`
}

type machine struct {
	NumCPU     int    `json:"nproc"`
	GoVersion  string `json:"bench_go_version"`
	LoadBefore string `json:"loadavg_before"`
}

type settings struct {
	Connectd    string   `json:"connectd_url"`
	Baseline    string   `json:"baseline_url,omitempty"`
	Scenarios   []string `json:"scenarios"`
	Rounds      int      `json:"rounds"`
	Duration    string   `json:"duration"`
	Warmup      string   `json:"warmup"`
	Requests    int64    `json:"max_requests"`
	Connections int      `json:"connections"`
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return strings.TrimSpace(string(b))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	scen, err := c.scenarios()
	if err != nil {
		return err
	}
	if c.key == "" {
		return errors.New("--key (or CONNECTD_BENCH_KEY) is required: connectd keys create --project demo")
	}
	cu, err := checkLoopback(c.url)
	if err != nil {
		return err
	}
	cd := &target{name: "connectd", base: cu, project: c.project, key: c.key, client: newClient(c.conns, c.timeout)}
	if cd.pid, err = pidFrom(c.pid, c.pidfile); err != nil {
		return err
	}
	targets := []*target{}
	if c.baseline != "" {
		bu, err := checkLoopback(c.baseline)
		if err != nil {
			return err
		}
		bt := &target{name: "baseline", base: bu, project: c.bProject, key: c.bKey, client: newClient(c.conns, c.timeout), seedN: c.bSeed}
		bt.entryNext.Store(int64(c.bEntryStart))
		if bt.pid, err = pidFrom(c.bPid, c.bPidfile); err != nil {
			return err
		}
		targets = append(targets, bt)
	}
	targets = append(targets, cd)

	needGet, needEntry := false, false
	for _, s := range scen {
		needGet = needGet || s == "get" || s == "mixed"
		needEntry = needEntry || s == "entry" || s == "mixed"
	}
	for _, t := range targets {
		if err := waitHealthy(ctx, t.client, t.base); err != nil {
			return err
		}
		if t.isBaseline() && (needGet || needEntry) && t.seedN <= 0 {
			return errors.New("get, entry and mixed on the baseline need --baseline-seed N (start it with SEED=N)")
		}
		t0 := time.Now()
		if err := t.prepare(ctx, c.conns, c.getPool, c.entryPool, needGet, needEntry); err != nil {
			return err
		}
		if !t.isBaseline() && (needGet || needEntry) {
			fmt.Fprintf(stderr, "connectd: created %d sessions for get and %d for entry in %v\n",
				len(t.getIDs), len(t.entryPool), time.Since(t0).Round(time.Millisecond))
		}
	}

	rep := &report{Label: c.label, Started: time.Now().UTC(),
		Machine:  machine{NumCPU: runtime.NumCPU(), GoVersion: runtime.Version(), LoadBefore: loadavg()},
		Settings: settings{Connectd: cu.String(), Baseline: c.baseline, Scenarios: scen, Rounds: c.rounds, Duration: c.duration.String(), Warmup: c.warmup.String(), Requests: c.requests, Connections: c.conns}}
	o := runOpts{conns: c.conns, duration: c.duration, requests: c.requests, warmup: c.warmup}
	first := true
	for round := 1; round <= c.rounds; round++ {
		for _, s := range scen {
			order := targets
			if round%2 == 0 && len(targets) == 2 { // alternate who goes first
				order = []*target{targets[1], targets[0]}
			}
			for _, t := range order {
				if !t.supports(s) {
					continue
				}
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if !first && c.pause > 0 {
					time.Sleep(c.pause)
				}
				first = false
				r := measure(ctx, t, s, round, o)
				rep.Runs = append(rep.Runs, r)
				fmt.Fprintf(stderr, "round %d %-8s %-6s %9.0f op/s  p50 %6.2f ms  p99 %7.2f ms  errors %d  stopped by %s  load %s\n",
					round, t.name, s, r.Op.RPS, r.Op.P50ms, r.Op.P99ms, r.Op.Errors, r.StoppedBy, loadavg())
			}
		}
	}
	rep.LoadAfter = loadavg()
	rep.Summary = summarize(rep.Runs)
	rep.Ratios = ratios(rep.Summary, rep.Runs)
	printTables(stdout, rep)
	if c.jsonOut != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(c.jsonOut, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// summaryRow holds, for one target, scenario and endpoint, the median over
// rounds of each figure (max: the largest; errors: the sum; memory: the
// largest).
type summaryRow struct {
	Target     string  `json:"target"`
	Scenario   string  `json:"scenario"`
	Endpoint   string  `json:"endpoint"` // "op" for the scenario's operation
	Rounds     int     `json:"rounds"`
	RPS        float64 `json:"rps_median"`
	P50ms      float64 `json:"p50_ms_median"`
	P90ms      float64 `json:"p90_ms_median"`
	P99ms      float64 `json:"p99_ms_median"`
	MaxMs      float64 `json:"max_ms"`
	Errors     uint64  `json:"errors"`
	Requests   uint64  `json:"requests"`
	RSSPeakMiB float64 `json:"rss_peak_mib,omitempty"`
	VmHWMMiB   float64 `json:"vmhwm_mib,omitempty"`
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func summarize(runs []runResult) []summaryRow {
	type key struct{ t, s, e string }
	type acc struct {
		rps, p50, p90, p99 []float64
		max                float64
		errs, reqs         uint64
		rss, hwm           float64
	}
	accs := map[key]*acc{}
	var order []key
	add := func(k key, e epResult, r runResult) {
		a := accs[k]
		if a == nil {
			a = &acc{}
			accs[k] = a
			order = append(order, k)
		}
		a.rps = append(a.rps, e.RPS)
		a.p50 = append(a.p50, e.P50ms)
		a.p90 = append(a.p90, e.P90ms)
		a.p99 = append(a.p99, e.P99ms)
		a.max = max(a.max, e.MaxMs)
		a.errs += e.Errors
		a.reqs += e.Requests
		a.rss = max(a.rss, r.RSSPeakMiB)
		a.hwm = max(a.hwm, r.VmHWMMiB)
	}
	for _, r := range runs {
		add(key{r.Target, r.Scenario, "op"}, r.Op, r)
		if len(r.Endpoints) > 1 || (len(r.Endpoints) == 1 && r.Endpoints[0].Endpoint != r.Scenario) {
			for _, e := range r.Endpoints {
				add(key{r.Target, r.Scenario, e.Endpoint}, e, r)
			}
		}
	}
	out := make([]summaryRow, 0, len(order))
	for _, k := range order {
		a := accs[k]
		out = append(out, summaryRow{Target: k.t, Scenario: k.s, Endpoint: k.e, Rounds: len(a.rps),
			RPS: median(a.rps), P50ms: median(a.p50), P90ms: median(a.p90), P99ms: median(a.p99),
			MaxMs: a.max, Errors: a.errs, Requests: a.reqs, RSSPeakMiB: a.rss, VmHWMMiB: a.hwm})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Scenario != out[j].Scenario {
			return scenOrder(out[i].Scenario) < scenOrder(out[j].Scenario)
		}
		return out[i].Target > out[j].Target // connectd before baseline
	})
	return out
}

func scenOrder(s string) int {
	for i, n := range scenarioNames {
		if n == s {
			return i
		}
	}
	return 99
}

// ratioRow compares the scenario's operation on connectd with the
// baseline's: throughput (connectd / baseline, higher is better for
// connectd) and p99 (connectd / baseline, lower is better).
type ratioRow struct {
	Scenario       string  `json:"scenario"`
	ConnectdRPS    float64 `json:"connectd_ops_per_s"`
	BaselineRPS    float64 `json:"baseline_ops_per_s"`
	ThroughputX    float64 `json:"throughput_ratio"`
	ConnectdP99ms  float64 `json:"connectd_p99_ms"`
	BaselineP99ms  float64 `json:"baseline_p99_ms"`
	P99X           float64 `json:"p99_ratio"`
	ConnectdErrors uint64  `json:"connectd_errors"`
	BaselineErrors uint64  `json:"baseline_errors"`
	// Throughput ratios of each round's pair of runs (run back to back),
	// and their median: less sensitive to load that drifts between rounds.
	RoundRatios      []float64 `json:"round_throughput_ratios"`
	RoundRatioMedian float64   `json:"round_throughput_ratio_median"`
}

func ratios(sum []summaryRow, runs []runResult) []ratioRow {
	ops := map[string]map[string]summaryRow{}
	for _, r := range sum {
		if r.Endpoint != "op" {
			continue
		}
		if ops[r.Scenario] == nil {
			ops[r.Scenario] = map[string]summaryRow{}
		}
		ops[r.Scenario][r.Target] = r
	}
	var out []ratioRow
	for _, s := range scenarioNames {
		c, okc := ops[s]["connectd"]
		b, okb := ops[s]["baseline"]
		if !okc || !okb {
			continue
		}
		r := ratioRow{Scenario: s, ConnectdRPS: c.RPS, BaselineRPS: b.RPS, ConnectdP99ms: c.P99ms, BaselineP99ms: b.P99ms,
			ConnectdErrors: c.Errors, BaselineErrors: b.Errors}
		if b.RPS > 0 {
			r.ThroughputX = c.RPS / b.RPS
		}
		if b.P99ms > 0 {
			r.P99X = c.P99ms / b.P99ms
		}
		byRound := map[int]map[string]float64{}
		for _, x := range runs {
			if x.Scenario == s {
				if byRound[x.Round] == nil {
					byRound[x.Round] = map[string]float64{}
				}
				byRound[x.Round][x.Target] = x.Op.RPS
			}
		}
		for round := 1; round <= len(byRound); round++ {
			if p := byRound[round]; p["baseline"] > 0 {
				r.RoundRatios = append(r.RoundRatios, p["connectd"]/p["baseline"])
			}
		}
		r.RoundRatioMedian = median(r.RoundRatios)
		out = append(out, r)
	}
	return out
}

func mib(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", v)
}

func printTables(w io.Writer, rep *report) {
	fmt.Fprintf(w, "connectd-bench: %s, %d connections, %v runs (warm-up %v), at most %d operations per run, %d round(s); nproc %d; load %s -> %s\n",
		strings.Join(rep.Settings.Scenarios, ","), rep.Settings.Connections, rep.Settings.Duration, rep.Settings.Warmup,
		rep.Settings.Requests, rep.Settings.Rounds, rep.Machine.NumCPU, rep.Machine.LoadBefore, rep.LoadAfter)
	if rep.Settings.Rounds > 1 {
		fmt.Fprintln(w, "Medians over rounds (max: largest; errors: total; RSS: largest).")
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tscenario\tendpoint\treq/s\tp50 ms\tp90 ms\tp99 ms\tmax ms\terrors\tRSS peak MiB\tVmHWM MiB\t")
	for _, r := range rep.Summary {
		ep := r.Endpoint
		if ep == "op" {
			ep = "(" + r.Scenario + " op)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t%s\t%s\t\n", r.Target, r.Scenario, ep, r.RPS,
			r.P50ms, r.P90ms, r.P99ms, r.MaxMs, r.Errors, mib(r.RSSPeakMiB), mib(r.VmHWMMiB))
	}
	tw.Flush()
	if len(rep.Ratios) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "connectd / baseline (medians; entry: connectd's GET page + POST form vs the baseline's single-use GET):")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "scenario\tconnectd op/s\tbaseline op/s\tthroughput ×\tper round ×\tconnectd p99 ms\tbaseline p99 ms\tp99 ×\terrors c/b\t")
		for _, r := range rep.Ratios {
			per := make([]string, len(r.RoundRatios))
			for i, x := range r.RoundRatios {
				per[i] = fmt.Sprintf("%.2f", x)
			}
			fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.2f\t%s\t%.2f\t%.2f\t%.2f\t%d/%d\t\n", r.Scenario, r.ConnectdRPS, r.BaselineRPS, r.ThroughputX,
				strings.Join(per, " "), r.ConnectdP99ms, r.BaselineP99ms, r.P99X, r.ConnectdErrors, r.BaselineErrors)
		}
		tw.Flush()
	}
}
