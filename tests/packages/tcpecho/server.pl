#!/usr/bin/perl
# Echo servers for the host-port tests (perl-base is in the base image; no packages to add):
# TCP on the port ECHO_PORT names, UDP on 7001, and the health check on the HTTP port.
use strict;
use warnings;
use IO::Select;
use IO::Socket::INET;

$SIG{CHLD} = 'IGNORE';
my %listen = (ReuseAddr => 1, Listen => 16, Proto => 'tcp', LocalAddr => '0.0.0.0');
my $echo = IO::Socket::INET->new(%listen, LocalPort => $ENV{ECHO_PORT}) or die "echo: $!";
my $http = IO::Socket::INET->new(%listen, LocalPort => 8000) or die "http: $!";
my $udp = IO::Socket::INET->new(LocalAddr => '0.0.0.0', LocalPort => 7001, Proto => 'udp')
  or die "udp: $!";
print "listening: tcp $ENV{ECHO_PORT}, udp 7001, http 8000\n";
my $select = IO::Select->new($echo, $http, $udp);
while (1) {
  for my $ready ($select->can_read) {
    if ($ready == $udp) {
      my $peer = $udp->recv(my $data, 65535);
      $udp->send("echo $data", 0, $peer) if $peer;
      next;
    }
    my $client = $ready->accept or next;
    if (fork() == 0) {
      if ($ready == $echo) {
        while (my $line = <$client>) { print $client "echo $line"; }
      } else {
        while (my $line = <$client>) { last if $line =~ /^\r?\n$/; }
        my $body = "ECHO_PORT=$ENV{ECHO_PORT}\n";
        print $client "HTTP/1.0 200 OK\r\nContent-Length: " . length($body)
          . "\r\nConnection: close\r\n\r\n$body";
      }
      exit 0;
    }
    close $client;
  }
}
