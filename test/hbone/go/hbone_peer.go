// hbone_peer: an HBONE client built on Go's standard library (crypto/tls and the HTTP/2 code
// bundled in net/http), an implementation independent of OpenSSL and nghttp2, for meshgate's
// interop tests. Build offline: GO111MODULE=off go build -o hbone_peer hbone_peer.go
//
//	hbone_peer [flags] echo   -target AUTHORITY -bytes N     CONNECT, "ECHO N" to a who_server, N bytes back
//	hbone_peer [flags] spread -target AUTHORITY -streams N   N streams, each asks the backend's name
//	hbone_peer [flags] status -target AUTHORITY [-method M]  one request: its status
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
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
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
	sub.Parse(args[1:])
	time.AfterFunc(*timeout, func() { output(map[string]interface{}{"error": "timeout"}); os.Exit(3) })
	switch args[0] {
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
