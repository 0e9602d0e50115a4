// Build module for the local cluster's certificate tool (standard library only).
module github.com/palisade-sec/palisade/hack/local-cluster/pki

go 1.26.0
