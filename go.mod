module github.com/connectd/connectd

go 1.25.0
