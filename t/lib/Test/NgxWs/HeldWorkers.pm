package Test::NgxWs::HeldWorkers;

# Old workers kept alive on purpose: an upstream that takes connections
# and never answers, and a location proxying to it. A request held there
# by the current worker keeps that worker (shutting down after a reload)
# alive, and so its queue slot in ws_zone taken, until release().
#
#   my $hold = Test::NgxWs::HeldWorkers->new(port => $port + 1);
#   ... config => $hold->location ...
#   my $new_worker = $hold->hold_then_reload($ngx, $port);
#   $hold->release;

use strict;
use warnings;
use IO::Socket::INET;
use Test::NgxWs ();

sub new {
    my ($class, %args) = @_;
    my $listener = IO::Socket::INET->new(LocalAddr => "127.0.0.1:$args{port}",
                                         Listen => 64, ReuseAddr => 1)
        or die "listen $args{port}: $!";
    return bless { port => $args{port}, listener => $listener,
                   held => [], upstream => [] }, $class;
}

# the location whose requests are held
sub location {
    my ($self) = @_;
    return <<"CONF";
    location = /hold {
        proxy_pass http://127.0.0.1:$self->{port};
        proxy_read_timeout 120s;
    }
CONF
}

sub shutting_down {
    my ($pid) = @_;
    return (Test::NgxWs::slurp("/proc/$pid/cmdline") // '') =~ /shutting down/;
}

# One request held by the current worker (NGINX on $port), then a reload:
# returns the new worker once the old ones have closed their listening
# sockets (their title says so), so that the next request reaches it.
sub hold_then_reload {
    my ($self, $ngx, $port) = @_;
    my $master = $ngx->{pid};
    my %before = map { $_ => 1 } $ngx->workers;
    my $c = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port") or die $!;
    print $c "GET /hold HTTP/1.1\r\nHost: t\r\n\r\n";
    push @{ $self->{held} }, $c;
    $self->{listener}->blocking(1);
    my $up = eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm 5;
        my $s = $self->{listener}->accept;
        alarm 0;
        $s;
    };
    die "the held request never reached the upstream\n" unless $up;
    push @{ $self->{upstream} }, $up;
    $ngx->signal('HUP');
    my @new;
    Test::NgxWs::wait_for(sub {
        @new = grep { !$before{$_} } Test::NgxWs::worker_pids($master);
        @new == 1 }, 10)
        or die "no new worker after the reload\n";
    Test::NgxWs::wait_for(sub {
        !grep { $_ != $new[0] && !shutting_down($_) }
              Test::NgxWs::worker_pids($master) }, 10)
        or die "the old workers did not start shutting down\n";
    return $new[0];
}

# the held requests end: their workers may exit
sub release {
    my ($self) = @_;
    close $_ for @{ $self->{upstream} }, @{ $self->{held} };
    $self->{upstream} = [];
    $self->{held} = [];
}

1;
