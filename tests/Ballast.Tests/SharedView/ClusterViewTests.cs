using Ballast.SharedView;
using Ballast.Tests.Support;

namespace Ballast.Tests.SharedView;

/// <summary>The view's lease and merge rules, on a manual clock.</summary>
public sealed class ClusterViewTests
{
    private readonly ManualTimeProvider _time = new();

    [Fact]
    public void The_lease_is_fresh_only_within_the_bound_of_the_last_quorum_read_start()
    {
        var view = new ClusterView(3, TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(750), _time, enabled: true);
        Assert.False(view.IsLeaseFresh);
        Assert.False(view.HasLease);

        var start = _time.GetTimestamp();
        _time.Advance(TimeSpan.FromMilliseconds(300));
        view.Apply(new ViewReadResult(Entries(3), Responded: 2, IsQuorum: true), start);
        Assert.True(view.IsLeaseFresh);

        _time.Advance(TimeSpan.FromMilliseconds(700));
        Assert.True(view.IsLeaseFresh);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.False(view.IsLeaseFresh);
    }

    [Fact]
    public void Reads_are_served_only_within_the_read_lease_a_quarter_of_the_bound_shorter()
    {
        // A departed caller's invalidation fences a quarter of the bound after the call returned; a view read just
        // before that fence must stop serving reads within the bound of the return, not of the fence.
        var view = new ClusterView(3, TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(750), _time, enabled: true);
        Assert.False(view.IsLeaseFreshForReads);
        var start = _time.GetTimestamp();
        view.Apply(new ViewReadResult(Entries(3), Responded: 2, IsQuorum: true), start);
        Assert.True(view.IsLeaseFreshForReads);

        _time.Advance(TimeSpan.FromMilliseconds(750));
        Assert.True(view.IsLeaseFreshForReads);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.False(view.IsLeaseFreshForReads);
        Assert.True(view.IsLeaseFresh);

        // A read without a quorum does not renew it; the next quorum read does, from its start.
        view.Apply(new ViewReadResult(Entries(3), Responded: 1, IsQuorum: false), _time.GetTimestamp());
        Assert.False(view.IsLeaseFreshForReads);
        view.Apply(new ViewReadResult(Entries(3), Responded: 2, IsQuorum: true), _time.GetTimestamp());
        Assert.True(view.IsLeaseFreshForReads);
    }

    [Fact]
    public void A_read_without_a_quorum_raises_epochs_but_does_not_renew_the_lease()
    {
        var view = new ClusterView(2, TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(750), _time, enabled: true);
        var entries = Entries(2);
        entries[1] = new ViewEntry(3, IsDown: true, 0, "other");
        var changed = view.Apply(new ViewReadResult(entries, Responded: 1, IsQuorum: false), _time.GetTimestamp());
        Assert.Equal([1], changed);
        Assert.False(view.IsUp(1));
        Assert.True(view.IsUp(0));
        Assert.False(view.IsLeaseFresh);
    }

    [Fact]
    public void Records_only_move_to_higher_epochs()
    {
        var view = new ClusterView(1, TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(750), _time, enabled: true);
        view.ApplyLocal(0, new ViewEntry(5, IsDown: true, 0, "a"));
        view.ApplyLocal(0, new ViewEntry(4, IsDown: false, 0, "b"));
        Assert.Equal(5, view[0].Epoch);
        var older = new ViewReadResult([new ViewEntry(4, false, 0, "c")], 1, true);
        Assert.Empty(view.Apply(older, _time.GetTimestamp()));
        Assert.False(view.IsUp(0));
    }

    [Fact]
    public void Entries_round_trip_and_garbage_is_ignored()
    {
        var entry = new ViewEntry(7, IsDown: true, 1_700_000_000_000, "ab12cd34");
        Assert.True(ViewEntry.TryDecode(entry.Encode(), out var decoded));
        Assert.Equal(entry, decoded);
        Assert.False(ViewEntry.TryDecode("7 maybe 1 x"u8, out _));
        Assert.Equal(new ViewEntry(8, false, 9, "w"), entry.Next(down: false, 9, "w"));
    }

    [Fact]
    public void Without_a_shared_view_every_server_is_up_and_the_lease_never_lapses()
    {
        var view = new ClusterView(2, TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(750), _time, enabled: false);
        _time.Advance(TimeSpan.FromHours(1));
        Assert.True(view.IsLeaseFresh);
        Assert.True(view.IsLeaseFreshForReads);
        Assert.True(view.IsUp(1));
    }

    private static ViewEntry[] Entries(int count) => Enumerable.Repeat(ViewEntry.Initial, count).ToArray();
}
