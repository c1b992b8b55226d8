package Test::NgxWs::Strace;

# strace following a running process (a worker, a backend) for the length of
# a test's workload: what a test learns from the system calls it makes.
#
#     my $trace = Test::NgxWs::Strace->follow($pid, 'read,recvfrom')
#         or plan skip_all => $Test::NgxWs::Strace::why_not;
#     ... the workload ...
#     my @lines = $trace->stop;    # strace's lines, one per call
#
# follow() returns once the kernel names strace as the process's tracer
# (/proc/PID/status), so every call after it is seen; it returns undef, and
# says why in $why_not, where strace is not installed or cannot attach (no
# ptrace in a container). Extra strace arguments: follow($pid, $calls,
# '-s', 4096).

use strict;
use warnings;
use POSIX ();
use File::Temp qw(tempdir);
use Time::HiRes qw(sleep time);

our $why_not = '';

sub follow {
    my ($class, $pid, $calls, @args) = @_;
    my ($strace) = grep { -x } map { "$_/strace" } split /:/, $ENV{PATH};
    unless ($strace) {
        $why_not = 'strace is not installed';
        return undef;
    }

    my $dir = tempdir(CLEANUP => 1);
    my $tracer = fork // die "fork: $!";
    if ($tracer == 0) {
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', "$dir/strace.err";
        { exec $strace, '-qq', '-e', 'signal=none', '-e', "trace=$calls",
              @args, '-o', "$dir/strace.out", '-p', $pid };
        POSIX::_exit(127);
    }

    my $deadline = time + 10;
    while (time < $deadline) {
        my $status = '';
        if (open my $fh, '<', "/proc/$pid/status") { local $/; $status = <$fh> }
        if ($status =~ /^TracerPid:\s*(\d+)/m && $1 == $tracer) {
            return bless { tracer => $tracer, dir => $dir }, $class;
        }
        last if waitpid($tracer, POSIX::WNOHANG()) == $tracer;
        sleep 0.05;
    }

    kill 'KILL', $tracer;
    waitpid $tracer, 0;
    $why_not = 'strace cannot attach here: '
             . (_slurp("$dir/strace.err") || 'no tracer after 10 s');
    return undef;
}

# Detaches (the process goes on) and returns the calls seen, a line each.
sub stop {
    my ($self) = @_;
    kill 'INT', $self->{tracer};
    waitpid $self->{tracer}, 0;
    return split /\n/, _slurp("$self->{dir}/strace.out");
}

sub _slurp {
    my ($path) = @_;
    open my $fh, '<', $path or return '';
    local $/;
    return scalar <$fh>;
}

1;
