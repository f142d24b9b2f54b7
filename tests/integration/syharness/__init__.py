"""Integration-test harness for Switchyard: a recording backend written on raw
sockets, a raw HTTP/1.1 client, and a runner for the real gateway binary."""
