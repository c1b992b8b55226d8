package Test::NgxWs::Isolation;

# Keeps one test file from spoiling the next: ports of its own, every
# process it started stopped when it ends (normally, on die, on a signal),
# a time limit on the file and on every client it runs.
#
# Ports: a file gets a block, base .. base+9 for NGINX and whatever the
# file puts beside it, base+90 .. base+99 for Redis (Test::NgxWs::Redis).
# NGX_WS_TEST_PORT fixes the base; without it a base is drawn at random
# below the ephemeral range and kept only if every port of the block can
# be bound now, so that nothing left over from elsewhere answers for us.
# The base chosen goes into NGX_WS_TEST_PORT for the file's own children.
#
# Processes: NGINX (daemon on) and redis-server (--daemonize) leave the
# process tree of whoever started them. The test process makes itself a
# child subreaper, so they stay its descendants: at exit everything below
# it is stopped, whichever helper or test started it. Orphans that exit
# become its zombies; reap_orphans() collects those (wait_for calls it).
# Where that cannot be had (prctl refused, an unknown architecture), the
# daemons the harness starts itself are still stopped: track() names them.
#
# Time: the file gets NGX_WS_TEST_FILE_TIMEOUT seconds (default 300), then
# it fails with a message saying so and its processes are stopped; a
# client run with run_bounded() gets its own bound (its timeout argument,
# else NGX_WS_TEST_CLIENT_TIMEOUT, default 60 s). Slow builds (make asan)
# raise both.

use strict;
use warnings;

use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw(time sleep);

use constant PORT_OFFSETS => (0 .. 9, 90 .. 99);
# below Linux's default ephemeral range (32768-60999): no outgoing
# connection of this machine takes one of these ports meanwhile
use constant PORT_BASE_MIN => 20000;
use constant PORT_BASE_SLOTS => 120;    # bases 20000, 20100 .. 31900

use constant PR_SET_CHILD_SUBREAPER => 36;
my %PRCTL_SYSCALL = (x86_64 => 157, aarch64 => 167, riscv64 => 167,
                     i686 => 172, i386 => 172, armv7l => 172, ppc64le => 171,
                     s390x => 172);

our $OWNER = $$;          # a forked child is not the owner of the file
my $subreaper = 0;
my $armed = 0;
my %tracked;              # daemons started by the harness: pid => start

# The start time of a process (clock ticks after boot): with the pid, it
# names the process, where a pid alone may have been reused since.
sub start_time {
    my ($pid) = @_;
    my $stat = slurp("/proc/$pid/stat");
    $stat =~ s/^.*\) //s or return undef;
    return (split ' ', $stat)[19];
}

sub track {
    my ($pid) = @_;
    $tracked{$pid} = start_time($pid) if $pid && $$ == $OWNER;
}

sub tracked_alive {
    return grep { (start_time($_) // -1) eq $tracked{$_} } keys %tracked;
}

sub port_free {
    my ($port) = @_;
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $port,
                                  Proto => 'tcp', Listen => 1, ReuseAddr => 0);
    return 0 unless $s;
    close $s;
    return 1;
}

sub block_free {
    my ($base) = @_;
    for my $off (PORT_OFFSETS) {
        return 0 unless port_free($base + $off);
    }
    return 1;
}

sub choose_port_base {
    for (1 .. 200) {
        my $base = PORT_BASE_MIN + 100 * int rand PORT_BASE_SLOTS;
        return $base if block_free($base);
    }
    die "no free block of test ports found between " . PORT_BASE_MIN
        . " and " . (PORT_BASE_MIN + 100 * PORT_BASE_SLOTS) . "\n";
}

sub port_base {
    $ENV{NGX_WS_TEST_PORT} ||= choose_port_base();
    return $ENV{NGX_WS_TEST_PORT};
}

sub become_subreaper {
    my $nr = $PRCTL_SYSCALL{(POSIX::uname())[4]} or return 0;
    return syscall($nr, PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0;
}

sub slurp {
    my ($file) = @_;
    open my $fh, '<', $file or return '';
    local $/;
    return <$fh> // '';
}

# (state, ppid, session) of a process, or () when it is gone
sub proc_stat {
    my ($pid) = @_;
    my $stat = slurp("/proc/$pid/stat");
    return $stat =~ /^\d+ \(.*\) (\S) (\d+) \d+ (\d+)/s ? ($1, $2, $3) : ();
}

sub child_map {
    my %children;
    opendir my $dh, '/proc' or return {};
    for my $pid (grep { /^\d+$/ } readdir $dh) {
        my (undef, $ppid) = proc_stat($pid) or next;
        push @{ $children{$ppid} }, $pid;
    }
    return \%children;
}

sub children_of {
    my ($parent) = @_;
    return @{ child_map()->{$parent} || [] };
}

# Every process below this one: parent links read from /proc.
sub descendants {
    my %children = %{ child_map() };
    my @found;
    my @todo = ($$);
    while (defined(my $p = shift @todo)) {
        for my $c (@{ $children{$p} || [] }) {
            push @found, $c;
            push @todo, $c;
        }
    }
    return @found;
}

# Collects the zombies of daemons that were re-parented to this process.
# Children of its own session (system, backticks, fork) are left to
# whoever waits for them; a daemon has a session of its own (setsid).
sub reap_orphans {
    return unless $subreaper && $$ == $OWNER;
    my (undef, undef, $own_session) = proc_stat($$);
    my $file = "/proc/$$/task/$$/children";
    # without that file (a kernel built without it), /proc is scanned
    my @children = -e $file ? split(' ', slurp($file)) : children_of($$);
    for my $pid (@children) {
        my ($state, undef, $session) = proc_stat($pid) or next;
        next unless $state eq 'Z' && $session != $own_session;
        waitpid $pid, POSIX::WNOHANG();
    }
}

sub live {
    my ($pid) = @_;
    my ($state) = proc_stat($pid);
    return defined $state && $state ne 'Z';
}

# TERM to every descendant, KILL to what is left after a few seconds.
# Returns the command lines of those still running at the end.
sub stop_children {
    return () unless $$ == $OWNER;
    my %seen;
    my @pids = grep { !$seen{$_}++ && live($_) }
               descendants(), ($subreaper ? () : tracked_alive());
    return () unless @pids;
    kill 'CONT', @pids;       # a paused server (SIGSTOP) must hear TERM
    kill 'TERM', @pids;
    my $deadline = time + 3;
    while (time < $deadline && grep { live($_) } @pids) {
        reap_all();
        sleep 0.05;
    }
    my @left = grep { live($_) } @pids;
    push @left, grep { live($_) } descendants();
    if (@left) {
        kill 'KILL', @left;
        $deadline = time + 2;
        while (time < $deadline && grep { live($_) } @left) {
            reap_all();
            sleep 0.05;
        }
    }
    reap_all();
    return map { my $c = slurp("/proc/$_/cmdline"); $c =~ tr/\0/ /; "$_ $c" }
           grep { live($_) } @pids, @left;
}

sub reap_all {
    1 while waitpid(-1, POSIX::WNOHANG()) > 0;
}

sub file_name {
    my $name = $0;
    $name =~ s{.*/}{};
    return $name;
}

sub time_limit {
    return $ENV{NGX_WS_TEST_FILE_TIMEOUT} || 300;
}

sub on_time_limit {
    my $limit = time_limit();
    my $file = file_name();
    Test::More::diag("$file ran longer than its time limit of $limit s "
                     . "(NGX_WS_TEST_FILE_TIMEOUT): stopping every process "
                     . "it started");
    Test::More::fail("$file finishes within $limit s");
    stop_children();
    exit 1;
}

sub on_signal {
    my ($sig) = @_;
    if ($$ != $OWNER) {       # a forked child: die of the signal as before
        $SIG{$sig} = 'DEFAULT';
        kill $sig, $$;
        return;
    }
    stop_children();
    $SIG{$sig} = 'DEFAULT';
    kill $sig, $$;
}

# Called once, when the harness is loaded by a test file.
sub arm {
    return if $armed++;
    $subreaper = become_subreaper();
    $SIG{ALRM} = \&on_time_limit;
    $SIG{$_} = \&on_signal for qw(INT TERM HUP);
    alarm time_limit();
}

# run_bounded($shell_command, timeout => seconds): runs a client (python,
# node with chromium, curl...) with stdout and stderr together and returns
# that output, $? set as by backticks. After the timeout the client and
# its children are killed (TERM, KILL 5 s later) and the output ends with
# a line saying so.
sub run_bounded {
    my ($cmd, %args) = @_;
    my $limit = $args{timeout} // $ENV{NGX_WS_TEST_CLIENT_TIMEOUT} // 60;
    open my $fh, '-|', '/usr/bin/timeout', '--kill-after=5', $limit,
         '/bin/sh', '-c', "exec 2>&1; $cmd"
        or die "cannot run $cmd: $!\n";
    my $out = do { local $/; <$fh> } // '';
    close $fh;
    my $status = $?;
    my $code = $status >> 8;
    if ($code == 124 || $code == 137) {
        $out .= "\n[killed after the client's time limit of $limit s: $cmd]\n";
    }
    $? = $status;
    return $out;
}

END {
    if ($armed && $$ == $OWNER) {
        local $?;             # the file's exit status stays its own
        alarm 0;
        my @left = stop_children();
        print STDERR "# still running after KILL: $_\n" for @left;
    }
}

1;
