// hbone_peer: an HBONE client built on Go's standard library (crypto/tls and the HTTP/2 code
// bundled in net/http), an implementation independent of OpenSSL and nghttp2, for meshgate's
// interop tests. Build offline: GO111MODULE=off go build -o hbone_peer hbone_peer.go
//
//	hbone_peer [flags] echo   -target AUTHORITY -bytes N     CONNECT, "ECHO N" to a who_server, N bytes back
//	hbone_peer [flags] spread -target AUTHORITY -streams N   N streams, each asks the backend's name
//	hbone_peer [flags] status -target AUTHORITY [-method M]  one request: its status
//	hbone_peer [flags] serve  -listen ADDR                   an HBONE server: CONNECT dials :authority (a stand-in
//	                                                         ztunnel, and the Go relay the benchmarks compare with)
//	           [-route HOST:PORT=ADDR,…]                     dials ADDR for that :authority (a service's name)
//	           [-forward ADDR]                               dials ADDR whatever the :authority: a stand-in
//	                                                         east-west gateway, passing the inner bytes on as they are
//	           [-log FILE]                                   one JSON line per CONNECT: authority, headers, client
//	hbone_peer sink -listen ADDR                              TCP: reads to EOF, answers "OK <bytes>"
//	hbone_peer [flags] bulk -target AUTHORITY -bytes N -tunnels T   T tunnels (one connection each) upload N bytes each
//	hbone_peer tcpbulk -target ADDR -bytes N -tunnels T      the same over plain TCP to ADDR
//	hbone_peer [flags] setup -target AUTHORITY -seconds S [-pooled]  CONNECTs per second, each on a new connection
//	                                                         (or all on one pooled connection)
//	hbone_peer [flags] idle -target AUTHORITY -tunnels T -seconds S  holds T open idle tunnels for S seconds
//
// Every mode prints one JSON object on stdout; exit 0 unless the peer could not run at all.
package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

var (
	server   = flag.String("server", "", "meshgate's HBONE address, host:port")
	caFile   = flag.String("ca", "", "CA bundle (PEM)")
	certFile = flag.String("cert", "", "client certificate (PEM)")
	keyFile  = flag.String("key", "", "client key (PEM)")
	expect   = flag.String("expect", "", "the server's expected SPIFFE id")
)

// tlsConfig checks the server as an HBONE client must: the chain against the mesh CA, then the
// SPIFFE id in the URI SAN (Istio leaves have no DNS name, so Go's host name check is off).
func tlsConfig() *tls.Config {
	pem, err := os.ReadFile(*caFile)
	must(err)
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		must(errors.New("no certificate in " + *caFile))
	}
	pair, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	must(err)
	return &tls.Config{
		Certificates:       []tls.Certificate{pair},
		MinVersion:         tls.VersionTLS13,
		NextProtos:         []string{"h2"},
		InsecureSkipVerify: true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("the server sent no certificate")
			}
			leaf, err := x509.ParseCertificate(raw[0])
			if err != nil {
				return err
			}
			pool := x509.NewCertPool()
			for _, c := range raw[1:] {
				if ic, err := x509.ParseCertificate(c); err == nil {
					pool.AddCert(ic)
				}
			}
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
				return err
			}
			for _, u := range leaf.URIs {
				if u.String() == *expect {
					return nil
				}
			}
			return fmt.Errorf("server identity %v is not the expected %s", leaf.URIs, *expect)
		},
	}
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "hbone_peer:", err)
		os.Exit(2)
	}
}

func transport() *http.Transport {
	return &http.Transport{TLSClientConfig: tlsConfig(), ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 100}
}

// connect opens a CONNECT stream to `target`; the body writer is the client → upstream side.
func connect(t *http.Transport, method, target string) (*http.Response, *io.PipeWriter, error) {
	r, w := io.Pipe()
	req := &http.Request{Method: method, URL: &url.URL{Scheme: "https", Host: *server, Path: "/"}, Host: target,
		Header: http.Header{"Baggage": {"k8s.namespace.name=lab"}, "Traceparent": {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}},
		Body:   r, ContentLength: -1}
	if method != "CONNECT" {
		req.Body, req.ContentLength = nil, 0
	}
	resp, err := t.RoundTrip(req)
	return resp, w, err
}

func output(v interface{}) {
	b, _ := json.Marshal(v)
	fmt.Println(string(b))
}

func echo(target string, n int) {
	t := transport()
	resp, w, err := connect(t, "CONNECT", target)
	if err != nil {
		output(map[string]interface{}{"error": err.Error()})
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		output(map[string]interface{}{"status": resp.StatusCode})
		return
	}
	payload := make([]byte, n)
	rand.Read(payload)
	go func() {
		fmt.Fprintf(w, "ECHO %d\n", n)
		w.Write(payload)
		w.Close() // END_STREAM: the upstream sees a FIN after the payload
	}()
	reader := bufio.NewReader(resp.Body)
	name, err := reader.ReadString('\n')
	back, err2 := io.ReadAll(reader)
	result := map[string]interface{}{"status": resp.StatusCode, "backend": strings.TrimSpace(name), "sent": n, "received": len(back),
		"match": err == nil && err2 == nil && bytes.Equal(back, payload), "proto": resp.Proto}
	if err2 != nil {
		result["error"] = err2.Error()
	}
	output(result)
}

func spread(target string, streams, parallel int) {
	t := transport()
	var mu sync.Mutex
	backends, statuses, errs := map[string]int{}, map[string]int{}, map[string]int{}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for p := 0; p < parallel; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				name, status, err := ask(t, target)
				mu.Lock()
				if err != nil {
					errs[err.Error()]++
				} else {
					statuses[fmt.Sprint(status)]++
					if name != "" {
						backends[name]++
					}
				}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < streams; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	output(map[string]interface{}{"backends": backends, "statuses": statuses, "errors": errs})
}

// ask: one stream that sends a line and reads "<name> <line>" back.
func ask(t *http.Transport, target string) (string, int, error) {
	resp, w, err := connect(t, "CONNECT", target)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return "", resp.StatusCode, nil
	}
	io.WriteString(w, "who\n")
	w.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil {
		return "", resp.StatusCode, err
	}
	return strings.Fields(line)[0], resp.StatusCode, nil
}

func status(target, method string) {
	resp, w, err := connect(transport(), method, target)
	if err != nil {
		output(map[string]interface{}{"error": err.Error()})
		return
	}
	w.Close()
	resp.Body.Close()
	output(map[string]interface{}{"status": resp.StatusCode})
}

func main() {
	flag.Parse()
	args := flag.Args()
	if len(args) == 0 {
		must(errors.New("usage: hbone_peer [flags] echo|spread|status -target AUTHORITY …"))
	}
	sub := flag.NewFlagSet(args[0], flag.ExitOnError)
	target := sub.String("target", "", "the CONNECT :authority")
	n := sub.Int("bytes", 1<<20, "echo: bytes each way")
	streams := sub.Int("streams", 1000, "spread: streams")
	parallel := sub.Int("parallel", 50, "spread: streams at once")
	method := sub.String("method", "CONNECT", "status: the request's method")
	timeout := sub.Duration("timeout", 60*time.Second, "give up after this long")
	listen := sub.String("listen", "", "serve, sink: the address to listen on")
	tunnels := sub.Int("tunnels", 1, "bulk, tcpbulk, idle: tunnels at once")
	seconds := sub.Float64("seconds", 5, "setup, idle: how long")
	pooled := sub.Bool("pooled", false, "setup: every CONNECT on one pooled connection")
	routes := sub.String("route", "", "serve: HOST:PORT=ADDR,… dial ADDR for that :authority")
	forward := sub.String("forward", "", "serve: dial ADDR for every CONNECT (an east-west gateway)")
	logFile := sub.String("log", "", "serve: append a JSON line per CONNECT to FILE")
	sub.Parse(args[1:])
	switch args[0] {
	case "serve":
		serve(*listen, dialPlan(*routes, *forward), *logFile)
		return
	case "sink":
		sink(*listen)
		return
	}
	time.AfterFunc(*timeout, func() { output(map[string]interface{}{"error": "timeout"}); os.Exit(3) })
	switch args[0] {
	case "bulk":
		bulk(*target, *n, *tunnels, false)
	case "tcpbulk":
		bulk(*target, *n, *tunnels, true)
	case "setup":
		setup(*target, *seconds, *pooled)
	case "idle":
		idle(*target, *tunnels, *seconds)
	case "echo":
		echo(*target, *n)
	case "spread":
		spread(*target, *streams, *parallel)
	case "status":
		status(*target, *method)
	default:
		must(errors.New("unknown mode " + args[0]))
	}
}

// dialPlan says where serve dials for a CONNECT's :authority.
func dialPlan(routes, forward string) func(authority string) string {
	table := map[string]string{}
	for _, r := range strings.Split(routes, ",") {
		if kv := strings.SplitN(r, "=", 2); len(kv) == 2 {
			table[kv[0]] = kv[1]
		}
	}
	return func(authority string) string {
		if forward != "" {
			return forward
		}
		if a, ok := table[authority]; ok {
			return a
		}
		return authority
	}
}

// serve is an HBONE server on Go's standard library: mutual TLS 1.3 (the client's chain checked
// against the CA), CONNECT to where dialFor says, bytes spliced both ways with half-close.
func serve(addr string, dialFor func(string) string, logFile string) {
	pem, err := os.ReadFile(*caFile)
	must(err)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	pair, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	must(err)
	var logMu sync.Mutex
	record := func(r *http.Request, dialed string) {
		if logFile == "" {
			return
		}
		line, _ := json.Marshal(map[string]string{"authority": r.Host, "x_forwarded_network": r.Header.Get("X-Forwarded-Network"),
			"dialed": dialed, "client": clientIdentity(r), "remote": r.RemoteAddr, "forwarded": r.Header.Get("Forwarded")})
		logMu.Lock()
		defer logMu.Unlock()
		f, err := os.OpenFile(logFile, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			f.Write(append(line, '\n'))
			f.Close()
		}
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "CONNECT" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		dial := dialFor(r.Host)
		record(r, dial)
		up, err := net.DialTimeout("tcp", dial, 10*time.Second)
		if err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		defer up.Close()
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		done := make(chan struct{})
		go func() {
			io.Copy(up, r.Body)
			up.(*net.TCPConn).CloseWrite()
			close(done)
		}()
		buf := make([]byte, 32<<10) // io.Copy's size: what a Go relay typically holds per direction
		for {
			n, err := up.Read(buf)
			if n > 0 {
				w.Write(buf[:n])
				w.(http.Flusher).Flush()
			}
			if err != nil {
				break
			}
		}
		<-done
	})
	srv := &http.Server{Addr: addr, Handler: handler, TLSConfig: &tls.Config{
		Certificates: []tls.Certificate{pair}, ClientCAs: roots, ClientAuth: tls.RequireAndVerifyClientCert,
		MinVersion: tls.VersionTLS13, NextProtos: []string{"h2"}}}
	must(srv.ListenAndServeTLS("", ""))
}

// clientIdentity is the SPIFFE id of the request's client certificate, if any.
func clientIdentity(r *http.Request) string {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return ""
	}
	for _, u := range r.TLS.PeerCertificates[0].URIs {
		if u.Scheme == "spiffe" {
			return u.String()
		}
	}
	return ""
}

func sink(addr string) {
	l, err := net.Listen("tcp", addr)
	must(err)
	for {
		c, err := l.Accept()
		if err != nil {
			continue
		}
		go func(c net.Conn) {
			defer c.Close()
			n, _ := io.Copy(io.Discard, c)
			fmt.Fprintf(c, "OK %d\n", n)
		}(c)
	}
}

// upload sends n bytes through one stream (or plain TCP connection) and waits for the sink's count.
func upload(t *http.Transport, target string, n int, plain bool) error {
	payload := make([]byte, 256<<10)
	var body io.Reader
	var send func([]byte) error
	var finish func() error
	if plain {
		c, err := net.Dial("tcp", target)
		if err != nil {
			return err
		}
		defer c.Close()
		body, send, finish = c, func(b []byte) error { _, err := c.Write(b); return err }, func() error { return c.(*net.TCPConn).CloseWrite() }
	} else {
		resp, w, err := connect(t, "CONNECT", target)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		body, send, finish = resp.Body, func(b []byte) error { _, err := w.Write(b); return err }, w.Close
	}
	for left := n; left > 0; left -= len(payload) {
		chunk := payload
		if left < len(chunk) {
			chunk = chunk[:left]
		}
		if err := send(chunk); err != nil {
			return err
		}
	}
	if err := finish(); err != nil {
		return err
	}
	line, err := bufio.NewReader(body).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != fmt.Sprintf("OK %d", n) {
		return fmt.Errorf("the sink says %q", line)
	}
	return nil
}

func bulk(target string, n, tunnels int, plain bool) {
	var wg sync.WaitGroup
	errs := make(chan error, tunnels)
	start := time.Now()
	for i := 0; i < tunnels; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var t *http.Transport
			if !plain {
				t = transport() // one connection per tunnel
			}
			if err := upload(t, target, n, plain); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	close(errs)
	result := map[string]interface{}{"bytes": n * tunnels, "seconds": elapsed, "mb_per_s": float64(n*tunnels) / elapsed / 1e6}
	for err := range errs {
		result["error"] = err.Error()
	}
	output(result)
}

func setup(target string, seconds float64, pooled bool) {
	var done, failed int64
	shared := transport()
	end := time.Now().Add(time.Duration(seconds * float64(time.Second)))
	var wg sync.WaitGroup
	for p := 0; p < 8; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) {
				t := shared
				if !pooled {
					t = transport()
					t.DisableKeepAlives = true
				}
				if err := upload(t, target, 0, false); err != nil {
					atomic.AddInt64(&failed, 1)
				} else {
					atomic.AddInt64(&done, 1)
				}
				if !pooled {
					t.CloseIdleConnections()
				}
			}
		}()
	}
	wg.Wait()
	output(map[string]interface{}{"connects": done, "failed": failed, "per_second": float64(done) / seconds})
}

func idle(target string, tunnels int, seconds float64) {
	t := transport()
	open := 0
	var writers []*io.PipeWriter
	for i := 0; i < tunnels; i++ {
		resp, w, err := connect(t, "CONNECT", target)
		if err != nil || resp.StatusCode != 200 {
			break
		}
		writers = append(writers, w)
		open++
	}
	fmt.Printf("{\"open\": %d}\n", open)
	os.Stdout.Sync()
	time.Sleep(time.Duration(seconds * float64(time.Second)))
	for _, w := range writers {
		w.Close()
	}
}
