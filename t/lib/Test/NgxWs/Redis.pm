package Test::NgxWs::Redis;

# A private redis-server for the tests: loopback, its own port (from
# NGX_WS_REDIS_PORT, else test_port() + 90: in the file's block of ports),
# its own data directory, no persistence, stopped when the test ends (and
# by Test::NgxWs::Isolation when the test dies). With tls => { cert, key, ca,
# auth_clients } it serves TLS only, on that port; cli() then speaks TLS
# too, with tls => { client_cert, client_key } as its own certificate.
# args => [...] adds redis-server options (later ones win: '--port', 0
# with '--unixsocket', path serves a socket only; '--requirepass', or
# '--user' ACL rules); cli_args => [...] adds the redis-cli options that
# reach and log into such a server ('-s', path, '--user', .., '--pass', ..).

use strict;
use warnings;
use File::Path qw(make_path remove_tree);
use Time::HiRes qw(time sleep);
use Test::NgxWs ();

sub redis_port {
    return $ENV{NGX_WS_REDIS_PORT} || Test::NgxWs::test_port() + 90;
}

sub new {
    my ($class, %args) = @_;
    my $self = bless { port => $args{port} // redis_port(),
                       tls => $args{tls},
                       args => $args{args} // [],
                       cli_args => $args{cli_args} // [],
                       dir => $args{dir} // Test::NgxWs::servroot() . '-redis',
                     }, $class;
    return $self;
}

sub available {
    return -x '/usr/bin/redis-server' && -x '/usr/bin/redis-cli';
}

sub pid {
    my ($self) = @_;
    my $pid = Test::NgxWs::slurp("$self->{dir}/redis.pid");
    return $pid =~ /(\d+)/ ? $1 : undef;
}

sub start {
    my ($self) = @_;
    my $old = $self->pid;
    if ($old && kill 0, $old) {
        kill 'KILL', $old;
        Test::NgxWs::wait_for(sub { !kill 0, $old }, 3);
    }
    remove_tree($self->{dir}) unless $self->{keep};
    make_path($self->{dir});
    unlink "$self->{dir}/redis.pid";
    my $tls = $self->{tls};
    my @listen = $tls
        ? ('--port', 0, '--tls-port', $self->{port},
           '--tls-cert-file', $tls->{cert}, '--tls-key-file', $tls->{key},
           '--tls-ca-cert-file', $tls->{ca},
           '--tls-auth-clients', $tls->{auth_clients} // 'yes')
        : ('--port', $self->{port});
    my $rc = system('/usr/bin/redis-server', @listen,
                    '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
                    '--dir', $self->{dir}, '--daemonize', 'yes',
                    '--pidfile', "$self->{dir}/redis.pid",
                    # DEBUG SLEEP plays a slow Redis
                    '--enable-debug-command', 'local',
                    '--logfile', "$self->{dir}/redis.log", @{ $self->{args} });
    die "redis-server did not start\n" if $rc != 0;
    Test::NgxWs::wait_for(sub { $self->cli('PING') eq 'PONG' }, 5)
        or die "redis-server on port $self->{port} does not answer\n";
    $self->{started} = 1;
    Test::NgxWs::Isolation::track($self->pid);
    return $self;
}

# Kills the server (no shutdown courtesy: like a crash or a lost host).
sub kill_server {
    my ($self) = @_;
    my $pid = $self->pid or return;
    kill 'CONT', $pid;
    kill 'KILL', $pid;
    Test::NgxWs::wait_for(sub { !kill 0, $pid }, 5);
    waitpid $pid, 0;
}

# SIGSTOP: connections stay open and connects still complete (the kernel
# answers from the listen backlog), but nothing is answered: a Redis that
# is unreachable or hung, the hard case for a client.
sub pause  { my $pid = $_[0]->pid; kill 'STOP', $pid if $pid }
sub resume { my $pid = $_[0]->pid; kill 'CONT', $pid if $pid }

sub cli {
    my ($self, @args) = @_;
    # "could not connect" while it starts is expected: not for the output
    my $tls = $self->{tls};
    unshift @args, '--tls', '--cacert', $tls->{ca},
                   '--cert', $tls->{client_cert}, '--key', $tls->{client_key}
        if $tls;
    unshift @args, @{ $self->{cli_args} }, '--no-auth-warning'
        if @{ $self->{cli_args} };
    my $args = join ' ', map { quotemeta } @args;
    # a paused server accepts and never answers: the command is bounded
    open my $fh, '-|', "/usr/bin/timeout -k 2 10 /usr/bin/redis-cli "
                       . "-p $self->{port} $args 2>/dev/null"
        or return '';
    local $/;
    my $out = <$fh> // '';
    close $fh;
    $out =~ s/\s+$//;
    return $out;
}

sub DESTROY {
    my ($self) = @_;
    # at exit, waitpid here must not replace the test's exit status
    local $?;
    $self->kill_server if $self->{started};
}

1;
