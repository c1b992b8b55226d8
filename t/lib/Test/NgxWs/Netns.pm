package Test::NgxWs::Netns;

# Network namespaces for the chaos tests: real packets dropped on a real
# link, not a mock. Every namespace and veth pair is named after the test
# process (chaos<pid><letter>), so runs side by side never meet, and all
# of them are deleted in an END block, whether the test ends, dies or is
# stopped by the harness's time limit. Nothing is added to the machine's
# own namespace: both ends of a link live in namespaces made here, and the
# addresses (10.<pid>.x/30) exist only inside them.
#
# The test process enters a namespace only for a moment (in_ns): a socket
# belongs to the namespace it was created in and keeps it afterwards, and
# a process started meanwhile (NGINX, redis-server) stays there for life.

use strict;
use warnings;

use Fcntl ();
use POSIX ();
use Time::HiRes ();

use constant CLONE_NEWNET => 0x40000000;
my %SETNS_SYSCALL = (x86_64 => 308, aarch64 => 268, riscv64 => 268);

our $OWNER = $$;
my @namespaces;           # created by this process, deleted at its end
my $links = 0;

sub run {
    my (@cmd) = @_;
    my $out = `@cmd 2>&1`;
    die "@cmd: $out" if $? != 0;
    return $out;
}

# Why namespaces cannot be had here, or undef when they can: the reason a
# chaos test gives for skipping.
sub unavailable {
    return 'not root' if $> != 0;
    return 'no setns system call known for ' . (POSIX::uname())[4]
        unless $SETNS_SYSCALL{(POSIX::uname())[4]};
    for my $tool (qw(ip nft)) {
        return "no $tool command (make deps DEBIAN_PACKAGES=\"iproute2 "
               . "nftables\")" unless grep { -x "$_/$tool" }
                                      qw(/usr/sbin /sbin /usr/bin);
    }
    my $probe = "chaos${$}probe";
    my $out = `ip netns add $probe 2>&1`;
    return "ip netns add fails: $out" if $? != 0;
    $out = `ip -n $probe link add cp${$}v type veth peer name cp${$}w 2>&1`;
    my $veth_ok = $? == 0;
    system("ip netns del $probe >/dev/null 2>&1");
    return "cannot create a veth pair: $out" unless $veth_ok;
    return undef;
}

# The harness dies of INT, TERM and HUP after stopping its processes,
# which skips END blocks: the namespaces are deleted before that.
sub guard_signals {
    return if our $guarded++;
    for my $sig (qw(INT TERM HUP)) {
        my $prev = $SIG{$sig};
        $SIG{$sig} = sub {
            cleanup();
            return $prev->(@_) if ref $prev eq 'CODE';
            $SIG{$sig} = 'DEFAULT';
            kill $sig, $$;
        };
    }
}

sub create {
    my ($tag) = @_;
    guard_signals();
    my $name = "chaos${$}$tag";
    run("ip netns add $name");
    push @namespaces, $name;
    run("ip -n $name link set lo up");
    return $name;
}

# link($a, $b): a veth pair between two namespaces made by create();
# returns the two addresses ($address_in_a, $address_in_b) and the two
# interface names.
sub link {
    my ($a, $b) = @_;
    my $n = $links++;
    my ($va, $vb) = ("ch$$" . "a$n", "ch$$" . "b$n");
    # 10.<two bytes of the pid>.<4 n>/30: one small subnet per link
    my $net = sprintf '10.%d.%d', ($$ >> 8) & 255, $$ & 255;
    my ($ia, $ib) = ("$net." . (4 * $n + 1), "$net." . (4 * $n + 2));
    run("ip link add $va netns $a type veth peer name $vb netns $b");
    run("ip -n $a addr add $ia/30 dev $va");
    run("ip -n $b addr add $ib/30 dev $vb");
    run("ip -n $a link set $va up");
    run("ip -n $b link set $vb up");
    return ($ia, $ib, $va, $vb);
}

sub setns_to {
    my ($fh) = @_;
    my $nr = $SETNS_SYSCALL{(POSIX::uname())[4]};
    syscall($nr, fileno($fh), CLONE_NEWNET) == 0 or die "setns: $!\n";
}

# in_ns($name, sub { ... }): runs the code with the test process in the
# namespace, then returns it to the one it was in (calls nest); returns
# what the code returned.
sub in_ns {
    my ($name, $code) = @_;
    open my $prev, '<', "/proc/self/ns/net" or die "netns now: $!\n";
    open my $target, '<', "/var/run/netns/$name" or die "netns $name: $!\n";
    setns_to($target);
    my @ret = eval { $code->() };
    my $err = $@;
    setns_to($prev);
    die $err if $err;
    return wantarray ? @ret : $ret[0];
}

# Drops every packet into and out of the namespace (nft, both directions):
# to its peers it vanishes without a FIN or a reset. heal() lifts it.
sub partition {
    my ($name) = @_;
    open my $nft, '|-', 'ip', 'netns', 'exec', $name, 'nft', '-f', '-'
        or die "nft: $!\n";
    print $nft "table inet chaos {\n"
        . "  chain in { type filter hook input priority 0; policy drop; }\n"
        . "  chain out { type filter hook output priority 0; policy drop; }\n"
        . "}\n";
    close $nft or die "nft could not drop the packets of $name ($?)\n";
}

# Drops a random $percent of the packets into and out of the namespace
# (nft numgen, both directions), counting what it dropped (dropped()).
sub lossy {
    my ($name, $percent) = @_;
    open my $nft, '|-', 'ip', 'netns', 'exec', $name, 'nft', '-f', '-'
        or die "nft: $!\n";
    print $nft "table inet chaos_loss {\n"
        . "  chain in { type filter hook input priority 0;\n"
        . "    numgen random mod 100 < $percent counter drop\n  }\n"
        . "  chain out { type filter hook output priority 0;\n"
        . "    numgen random mod 100 < $percent counter drop\n  }\n"
        . "}\n";
    close $nft or die "nft could not make $name lossy ($?)\n";
}

# The packets lossy() dropped so far, both directions.
sub dropped {
    my ($name) = @_;
    my $out = run("ip netns exec $name nft list table inet chaos_loss");
    my $n = 0;
    $n += $1 while $out =~ /counter packets (\d+)/g;
    return $n;
}

# slow_link($a, $b): a point-to-point IP link between two namespaces made
# by create() whose packets pass through a process of this module (a
# relay), which holds each one for the delay in force before passing it
# on, in order, each direction on its own: real latency on every packet,
# seen by TCP as round-trip time, for kernels without tc netem (the
# qdiscs that remain, tbf and htb, delay only what exceeds a rate). The
# relay reads the IP packets one end's tun device hands it and writes
# them into the other end's; it starts with no delay (link_delay sets
# it) and ends with the test process or cleanup(). Returns the two
# addresses and the two device names, as link() does.
use constant TUNSETIFF => 0x400454ca;
use constant IFF_TUN => 0x0001;
use constant IFF_NO_PI => 0x1000;

my @relays;               # [pid, control handle] of slow_link's relays

sub tun_in {
    my ($name, $dev) = @_;
    # a tun device is made in the namespace its /dev/net/tun was opened in
    my $fh = in_ns($name, sub {
        open my $fh, '+<', '/dev/net/tun' or die "/dev/net/tun: $!\n";
        $fh });
    ioctl($fh, TUNSETIFF, pack('Z16 s x22', $dev, IFF_TUN | IFF_NO_PI))
        or die "TUNSETIFF $dev: $!\n";
    binmode $fh;
    my $flags = fcntl($fh, Fcntl::F_GETFL(), 0) or die "F_GETFL: $!\n";
    fcntl($fh, Fcntl::F_SETFL(), $flags | Fcntl::O_NONBLOCK())
        or die "F_SETFL: $!\n";
    return $fh;
}

sub slow_link {
    my ($a, $b) = @_;
    my $n = $links++;
    my ($ta, $tb) = ("ch$$" . "t$n" . 'a', "ch$$" . "t$n" . 'b');
    my $net = sprintf '10.%d.%d', ($$ >> 8) & 255, $$ & 255;
    my ($ia, $ib) = ("$net." . (4 * $n + 1), "$net." . (4 * $n + 2));
    my $fa = tun_in($a, $ta);
    my $fb = tun_in($b, $tb);
    run("ip -n $a addr add $ia peer $ib dev $ta");
    run("ip -n $b addr add $ib peer $ia dev $tb");
    run("ip -n $a link set $ta up");
    run("ip -n $b link set $tb up");
    pipe(my $ctl_r, my $ctl_w) or die "pipe: $!\n";
    my $pid = fork // die "fork: $!\n";
    if ($pid == 0) {
        close $ctl_w;
        $0 = "slow link $ta-$tb";
        relay($fa, $fb, $ctl_r);
        POSIX::_exit(0);
    }
    close $ctl_r;
    close $fa;
    close $fb;
    $ctl_w->autoflush(1);
    push @relays, [$pid, $ctl_w];
    return ($ia, $ib, $ta, $tb);
}

# link_delay($ms): from now on every slow_link relay holds each packet $ms
# milliseconds in each direction (2 × $ms round trip).
sub link_delay {
    my ($ms) = @_;
    print { $_->[1] } "$ms\n" for @relays;
}

# The relay: two FIFO queues of [due time, packet], one per direction.
sub relay {
    my ($fa, $fb, $ctl) = @_;
    my $delay = 0;
    my %queue = (fileno($fa) => [], fileno($fb) => []);
    my %out = (fileno($fa) => $fb, fileno($fb) => $fa);
    my $rin = '';
    vec($rin, fileno($_), 1) = 1 for $fa, $fb, $ctl;
    my $ctl_buf = '';
    while (1) {
        my $now = Time::HiRes::time();
        my $next;
        for my $fd (keys %queue) {
            my $q = $queue{$fd};
            while (@$q && $q->[0][0] <= $now) {
                syswrite($out{$fd}, (shift @$q)->[1]);
            }
            $next = $q->[0][0]
                if @$q && (!defined $next || $q->[0][0] < $next);
        }
        my $wait = defined $next ? $next - $now : undef;
        $wait = 0 if defined $wait && $wait < 0;
        my $ready = select(my $r = $rin, undef, undef, $wait);
        next if $ready <= 0;
        for my $fh ($fa, $fb) {
            next unless vec($r, fileno $fh, 1);
            # every packet waiting (the descriptors do not block)
            while (sysread($fh, my $packet, 65536)) {
                push @{ $queue{fileno $fh} },
                     [Time::HiRes::time() + $delay, $packet];
            }
        }
        if (vec($r, fileno $ctl, 1)) {
            my $got = sysread($ctl, $ctl_buf, 64, length $ctl_buf);
            return if !$got;                  # the test process is gone
            $delay = $1 / 1000 while $ctl_buf =~ s/^(\d+)\n//;
        }
    }
}

sub heal {
    my ($name) = @_;
    run("ip netns exec $name nft delete table inet chaos");
}

sub cleanup {
    return unless $$ == $OWNER;
    for my $relay (@relays) {
        close $relay->[1];
        kill 'KILL', $relay->[0];
        waitpid $relay->[0], 0;
    }
    @relays = ();
    for my $name (reverse @namespaces) {
        system("ip netns del $name >/dev/null 2>&1");
    }
    @namespaces = ();
}

END {
    local $?;
    cleanup();
}

1;
