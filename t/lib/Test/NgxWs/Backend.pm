package Test::NgxWs::Backend;

# The HTTP backend of the hook tests: t/lib/ws_backend.py (Python's
# http.server) on a port of the test file's own, answering what each
# request asks it to and writing every request it got, one JSON line
# each, to a log the test reads back.
#
#     my $backend = Test::NgxWs::Backend->start(port => $bport);
#     my @requests = $backend->requests;   # oldest first, decoded
#     $backend->forget;                    # none from here on
#
# The log is t/servroot/<test file's name>-backend.log unless log => names
# another.

use strict;
use warnings;
use File::Basename qw(basename);
use IPC::Open2 qw(open2);
use JSON::PP qw(decode_json);
use Test::More;

my @started;

sub start {
    my ($class, %args) = @_;
    my $log = $args{log} // Test::NgxWs::repo_root() . '/t/servroot/'
                             . basename($0, '.t') . '-backend.log';
    my $self = bless { log => $log }, $class;
    unlink $self->{log};
    $self->{pid} = open2(my $out, my $in, '/usr/bin/python3',
                         Test::NgxWs::repo_root() . '/t/lib/ws_backend.py',
                         $args{port}, $self->{log});
    @$self{qw(out in)} = ($out, $in);
    my $said = <$out>;
    is($said, "listening\n", 'the backend listens');
    push @started, $self->{pid};
    return $self;
}

# A line the backend is still writing has no newline yet: it is read
# next time (decoding it half-written would die).
sub requests {
    my ($self) = @_;
    open my $fh, '<', $self->{log} or return ();
    return map { decode_json($_) } grep { /\n\z/ } <$fh>;
}

# The requests so far are forgotten: requests() starts afresh.
sub forget {
    my ($self) = @_;
    unlink $self->{log};
}

END { kill 'TERM', @started if @started }

1;
