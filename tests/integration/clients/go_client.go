// A small Go TLS client for the client-family differential test
// (tests/integration/clients_test.cpp), standard library only: connects to ADDR, verifies
// the server's chain against CAFILE for SERVERNAME with crypto/tls's defaults. Exit 0:
// accepted; 1: refused (the reason on stdout); 2: usage or setup error.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"time"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: go_client ADDR CAFILE SERVERNAME")
		os.Exit(2)
	}
	pem, err := os.ReadFile(os.Args[2])
	if err != nil {
		fmt.Println(err)
		os.Exit(2)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		fmt.Println("no certificate in", os.Args[2])
		os.Exit(2)
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	conn, err := tls.DialWithDialer(dialer, "tcp", os.Args[1], &tls.Config{RootCAs: pool, ServerName: os.Args[3]})
	if err != nil {
		fmt.Println("rejected:", err)
		os.Exit(1)
	}
	conn.Close()
	fmt.Println("accepted")
}
