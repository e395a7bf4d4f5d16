"""Vietnamese names with realistic frequencies (family names from population surveys)."""

from __future__ import annotations

FAMILY_NAMES: tuple[tuple[str, float], ...] = (
    ("Nguyễn", 38.0), ("Trần", 11.0), ("Lê", 9.5), ("Phạm", 7.1), ("Hoàng", 4.0), ("Huỳnh", 1.1),
    ("Phan", 4.5), ("Vũ", 3.0), ("Võ", 0.9), ("Đặng", 2.1), ("Bùi", 2.0), ("Đỗ", 1.4),
    ("Hồ", 1.3), ("Ngô", 1.3), ("Dương", 1.0), ("Lý", 0.5), ("Đinh", 0.9), ("Trịnh", 0.8),
    ("Đào", 0.7), ("Mai", 0.6), ("Tạ", 0.4), ("Lương", 0.4), ("Chu", 0.3), ("Cao", 0.4),
    ("Kiều", 0.2), ("Nghiêm", 0.1), ("Lại", 0.2), ("Tô", 0.3), ("Khúc", 0.1), ("Quách", 0.2),
)

MIDDLE_MALE = ("Văn", "Đức", "Minh", "Quang", "Hữu", "Thành", "Xuân", "Ngọc", "Hoàng", "Tuấn",
               "Công", "Mạnh", "Trung", "Gia", "Anh", "Bảo", "Đình", "Việt")
MIDDLE_FEMALE = ("Thị", "Thu", "Ngọc", "Thanh", "Minh", "Hồng", "Phương", "Khánh", "Bảo",
                 "Thùy", "Mai", "Lan", "Diệu", "Hải", "Kim", "Quỳnh")
GIVEN_MALE = ("An", "Bình", "Cường", "Dũng", "Đức", "Hải", "Hùng", "Huy", "Khoa", "Long", "Minh",
              "Nam", "Phong", "Quân", "Sơn", "Thắng", "Tuấn", "Tùng", "Việt", "Vinh", "Hiếu",
              "Khánh", "Lâm", "Nghĩa", "Phúc", "Quang", "Thành", "Trung", "Toàn", "Hoàng", "Đạt",
              "Kiên", "Lộc", "Tài", "Thịnh")
GIVEN_FEMALE = ("Anh", "Chi", "Dung", "Giang", "Hà", "Hằng", "Hoa", "Hương", "Lan", "Linh", "Mai",
                "Ngọc", "Nhung", "Phương", "Quỳnh", "Thảo", "Trang", "Vy", "Yến", "Hạnh", "Huyền",
                "Loan", "My", "Nga", "Oanh", "Tâm", "Thu", "Thủy", "Trâm", "Uyên", "Vân")
STREETS = ("Hoàng Hoa Thám", "Phan Đình Phùng", "Đội Cấn", "Kim Mã", "Nguyễn Thái Học",
           "Hàng Bông", "Hàng Gai", "Lý Thường Kiệt", "Trần Hưng Đạo", "Bà Triệu", "Giải Phóng",
           "Kim Liên", "Xã Đàn", "Tây Sơn", "Nguyễn Trãi", "Láng", "Cầu Giấy", "Xuân Thủy",
           "Trường Chinh", "Minh Khai", "Lạc Long Quân", "Âu Cơ", "Nguyễn Văn Cừ", "Ngọc Lâm",
           "Thụy Khuê", "Thanh Niên", "Yên Phụ", "Lê Duẩn", "Tôn Đức Thắng", "Chùa Bộc")
