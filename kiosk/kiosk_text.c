#include "kiosk_text.h"

#include "qms/clock.h"

#include <stdio.h>
#include <string.h>

static const char *const texts[KT__COUNT][2] = {
    [KT_WELCOME] = {"Xin kính chào quý khách", "Welcome"},
    [KT_TOUCH_TO_START] = {"Chạm vào màn hình để lấy số thứ tự",
                           "Touch the screen to take a number"},
    [KT_CHOOSE_SERVICE] = {"Xin mời chọn lĩnh vực cần giải quyết", "Please choose a service"},
    [KT_BACK] = {"Quay lại", "Back"},
    [KT_NEXT_PAGE] = {"Trang sau", "Next page"},
    [KT_PREV_PAGE] = {"Trang trước", "Previous page"},
    [KT_PAGE] = {"Trang %d/%d", "Page %d of %d"},
    [KT_OTHER_LANG] = {"English", "Tiếng Việt"},
    [KT_PRIO_TITLE] = {"Quý khách có thuộc diện ưu tiên không?", "Do you need priority service?"},
    [KT_PRIO_NOTE] = {"Người cao tuổi, người khuyết tật, phụ nữ mang thai và người đi cùng trẻ nhỏ "
                      "được phục vụ trước.",
                      "Elderly people, people with disabilities, pregnant women and people with "
                      "small children are served first."},
    [KT_PRIO_NORMAL] = {"Không, lấy số thường", "No, a normal number"},
    [KT_PRIO_ELDERLY] = {"Người cao tuổi", "Elderly person"},
    [KT_PRIO_DISABLED] = {"Người khuyết tật", "Person with a disability"},
    [KT_PRIO_PREGNANT] = {"Phụ nữ mang thai", "Pregnant woman"},
    [KT_PRIO_CHILD] = {"Người đi cùng trẻ nhỏ", "With a small child"},
    [KT_BUSY] = {"Đang in số thứ tự, xin chờ trong giây lát…",
                 "Printing your number, please wait…"},
    [KT_TAKE_TICKET] = {"Xin mời nhận phiếu số thứ tự", "Please take your ticket"},
    [KT_AHEAD] = {"Số người đang chờ trước quý khách: %d", "People waiting ahead of you: %d"},
    [KT_AHEAD_NONE] = {"Không có ai chờ trước quý khách", "Nobody is waiting ahead of you"},
    [KT_ETA] = {"Thời gian chờ dự kiến: %s", "Expected wait: %s"},
    [KT_PRIORITY_MARK] = {"Ưu tiên", "Priority"},
    [KT_WATCH_BOARD] = {"Xin vui lòng theo dõi màn hình và loa gọi số",
                        "Please watch the board and listen for your number"},
    [KT_TOUCH_TO_FINISH] = {"Chạm để kết thúc", "Touch to finish"},
    [KT_STARTING] = {"Đang khởi động…", "Starting…"},
    [KT_F_PAPER_OUT] = {"Máy in đã hết giấy", "The printer is out of paper"},
    [KT_F_COVER_OPEN] = {"Nắp máy in đang mở", "The printer cover is open"},
    [KT_F_PRINTER_OFFLINE] = {"Máy in không phản hồi", "The printer is not responding"},
    [KT_F_BROKER] = {"Mất kết nối tới hệ thống xếp hàng", "No connection to the queue system"},
    [KT_F_CONTROLLER] = {"Hệ thống cấp số đang tạm ngừng", "The numbering system is not running"},
    [KT_F_NO_CONFIG] = {"Chưa nhận được danh sách lĩnh vực",
                        "The list of services has not arrived"},
    [KT_F_CLOSED] = {"Lĩnh vực này hiện không cấp số", "This service is not giving numbers now"},
    [KT_F_CAP] = {"Lĩnh vực này đã hết số trong ngày hôm nay",
                  "No more numbers today for this service"},
    [KT_F_TAKE_FAILED] = {"Chưa lấy được số thứ tự", "Could not get a number"},
    [KT_B_KIOSK_STOPPED] = {"Kiosk tạm thời không cấp số. Xin vui lòng báo cán bộ hướng dẫn "
                            "hoặc dùng kiosk khác.",
                            "This kiosk cannot give numbers for now. Please tell a staff member "
                            "or use another kiosk."},
    [KT_B_RECOVERS] = {"Kiosk sẽ tự hoạt động lại khi sự cố được khắc phục.",
                       "The kiosk starts again by itself once this is fixed."},
    [KT_B_HOURS] = {"Giờ cấp số: %s", "Numbers are given: %s"},
    [KT_B_NEXT_OPEN] = {"hôm nay từ %s", "today from %s"},
    [KT_B_CAP] = {"Xin mời quý khách quay lại vào ngày làm việc tiếp theo.",
                  "Please come back on the next working day."},
    [KT_B_TRY_AGAIN] = {"Xin vui lòng thử lại sau giây lát.", "Please try again in a moment."},
    [KT_B_NO_TICKET] = {"Không có số thứ tự nào được cấp.", "No number has been issued."},
    [KT_B_CANCELLED] = {"Số %s chưa in được nên đã được hủy. Không có số nào được cấp.",
                        "Number %s could not be printed and was cancelled. No number has been "
                        "issued."},
    [KT_B_TOUCH_BACK] = {"Chạm vào màn hình để quay lại", "Touch the screen to go back"},
    [KT_KIOSK] = {"Kiosk %s", "Kiosk %s"},
    [KT_CHECKIN_BUTTON] = {"Tôi đã đặt lịch", "I have an appointment"},
    [KT_CHECKIN_TITLE] = {"Nhập mã đặt lịch, hoặc quét mã QR hay thẻ căn cước",
                          "Type your booking code, or scan its QR code or your ID card"},
    [KT_CHECKIN_HINT] = {"Mã đặt lịch gồm 8 ký tự", "The booking code has 8 characters"},
    [KT_CHECKIN_SHORT] = {"Mã chưa đủ 8 ký tự", "The code needs 8 characters"},
    [KT_CHECKIN_BAD] = {"Mã chưa đúng, xin kiểm tra lại từng ký tự",
                        "This code is not right: please check each character"},
    [KT_CHECKIN_BADSCAN] = {"Không đọc được mã vừa quét. Xin quét lại hoặc nhập mã",
                            "Could not read that code. Please scan again or type it"},
    [KT_KEY_DELETE] = {"Xóa", "Delete"},
    [KT_KEY_OK] = {"Xác nhận", "OK"},
    [KT_BOOKED_MARK] = {"ĐÃ ĐẶT LỊCH — khung giờ %s", "BOOKED — slot %s"},
    [KT_A_UNKNOWN] = {"Không tìm thấy lịch hẹn với mã này", "No booking has this code"},
    [KT_A_UNKNOWN_CARD] = {"Không tìm thấy lịch hẹn hôm nay của thẻ này",
                           "No booking today for this card"},
    [KT_A_WRONG_DAY] = {"Lịch hẹn này không phải hôm nay", "This booking is not for today"},
    [KT_A_WRONG_SERVICE] = {"Lịch hẹn này thuộc lĩnh vực khác",
                            "This booking is for another service"},
    [KT_A_USED] = {"Mã này đã được dùng để lấy số", "This code has already been used"},
    [KT_A_CANCELLED] = {"Lịch hẹn này đã bị hủy", "This booking was cancelled"},
    [KT_A_EARLY] = {"Quý khách đến sớm hơn giờ hẹn", "You are early for your booking"},
    [KT_A_LATE] = {"Quý khách đã đến muộn so với giờ hẹn", "You are late for your booking"},
    [KT_A_REFUSED] = {"Không nhận được lịch hẹn này", "This booking cannot be used"},
    [KT_AB_EARLY] = {"Xin mời quay lại trong khung giờ %s.", "Please come back between %s."},
    [KT_AB_LATE] = {"Khung giờ của quý khách là %s. Xin mời lấy số thường.",
                    "Your booking was for %s. Please take a normal number."},
    [KT_AB_CHECK] = {"Xin kiểm tra lại mã, hoặc hỏi cán bộ hướng dẫn.",
                     "Please check the code, or ask a staff member."},
    [KT_AB_WALKIN] = {"Quý khách vẫn có thể lấy số thường.", "You can still take a normal number."},
    [KT_B_TOUCH_RETRY] = {"Chạm vào màn hình để nhập lại", "Touch the screen to try again"},
    [KT_CLOSED_TITLE] = {"Hiện đã hết giờ cấp số", "No numbers are given now"},
    [KT_CLOSED_NOTE] = {"Xin cảm ơn quý khách. Hẹn gặp lại.", "Thank you. See you then."},
    [KT_SVC_OPENS] = {"Ngoài giờ · mở lại %s", "Closed · opens %s"},
};

const char *kiosk_text(kiosk_text_id id, const char *lang)
{
    if ((int)id < 0 || id >= KT__COUNT || !texts[id][0])
        return "";
    return (lang && strcmp(lang, "en") == 0) ? texts[id][1] : texts[id][0];
}

void kiosk_text_fill(char *out, size_t outlen, kiosk_text_id id, const char *lang, const char *s,
                     int a, int b)
{
    const char *t = kiosk_text(id, lang);
    size_t o = 0;
    int ints = 0;
    if (!outlen)
        return;
    while (*t && o + 1 < outlen) {
        char num[16];
        const char *val = NULL;
        if (t[0] == '%' && t[1] == 's') {
            val = s ? s : "";
        } else if (t[0] == '%' && t[1] == 'd') {
            snprintf(num, sizeof num, "%d", ints++ ? b : a);
            val = num;
        }
        if (!val) {
            out[o++] = *t++;
            continue;
        }
        t += 2;
        for (; *val && o + 1 < outlen; val++)
            out[o++] = *val;
    }
    out[o] = 0;
}

void kiosk_text_date(int32_t day, const char *lang, char *out, size_t outlen)
{
    static const char *const wd_vi[7] = {"Chủ nhật", "Thứ Hai", "Thứ Ba", "Thứ Tư",
                                         "Thứ Năm",  "Thứ Sáu", "Thứ Bảy"};
    static const char *const wd_en[7] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                         "Thursday", "Friday", "Saturday"};
    static const char *const mon_en[12] = {"January",   "February", "March",    "April",
                                           "May",       "June",     "July",     "August",
                                           "September", "October",  "November", "December"};
    /* 1970-01-01 was a Thursday. */
    int wd = (int)(((day % 7) + 7 + 4) % 7);
    char ymd[11];
    qms_day_str(day, ymd);
    int y = 0, m = 1, d = 1;
    if (sscanf(ymd, "%d-%d-%d", &y, &m, &d) != 3 || m < 1 || m > 12)
        m = 1;
    if (lang && strcmp(lang, "en") == 0)
        snprintf(out, outlen, "%s, %d %s %d", wd_en[wd], d, mon_en[m - 1], y);
    else
        snprintf(out, outlen, "%s, %02d/%02d/%d", wd_vi[wd], d, m, y);
}

void kiosk_text_wait(int eta_s, const char *lang, char *out, size_t outlen)
{
    int en = lang && strcmp(lang, "en") == 0;
    if (eta_s < 60) {
        snprintf(out, outlen, "%s", en ? "less than a minute" : "dưới 1 phút");
        return;
    }
    /* round to the minute: the figure is an estimate, not a promise */
    int min = (eta_s + 30) / 60;
    if (min < 60) {
        if (en)
            snprintf(out, outlen, "about %d minute%s", min, min == 1 ? "" : "s");
        else
            snprintf(out, outlen, "khoảng %d phút", min);
        return;
    }
    int h = min / 60, mm = min % 60;
    if (en) {
        if (mm)
            snprintf(out, outlen, "about %d h %d min", h, mm);
        else
            snprintf(out, outlen, "about %d hour%s", h, h == 1 ? "" : "s");
    } else {
        if (mm)
            snprintf(out, outlen, "khoảng %d giờ %d phút", h, mm);
        else
            snprintf(out, outlen, "khoảng %d giờ", h);
    }
}

void kiosk_text_hours(const qms_span *spans, int n, char *out, size_t outlen)
{
    size_t pos = 0;
    out[0] = 0;
    for (int i = 0; i < n && pos < outlen; i++) {
        char a[6], b[6];
        qms_hhmm_str(spans[i].open_s, a);
        qms_hhmm_str(spans[i].close_s >= 86400 ? 86399 : spans[i].close_s, b);
        int w = snprintf(out + pos, outlen - pos, "%s%s–%s", i ? ", " : "", a, b);
        if (w < 0)
            break;
        pos += (size_t)w;
    }
}
